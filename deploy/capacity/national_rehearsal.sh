#!/bin/bash
# National-scale rehearsal: ioc up (embedded) without simulators, then a national simulation.
# Usage: deploy/capacity/national_rehearsal.sh  (about 3 minutes; output under $OUT, default /tmp/ioc-national)
# Samples /metrics and top every 10 s while a national simulation runs against an embedded stack.
cd "$(dirname "$0")/../.."
mkdir -p ${OUT:-/tmp/ioc-national}; rm -rf ${OUT:-/tmp/ioc-national}/data; export IOC_OPERATOR_TOKEN=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')  # this run only
PORT=8571; KPORT=19571
IOC_KAFKA__EMBEDDED_PORT=$KPORT .venv/bin/ioc up --no-simulator --no-cameras --port $PORT --data-dir ${OUT:-/tmp/ioc-national}/data > ${OUT:-/tmp/ioc-national}/up.log 2>&1 &
UP=$!
for i in $(seq 1 90); do curl -s -o /dev/null -w "%{http_code}" http://127.0.0.1:$PORT/healthz | grep -q 200 && break; sleep 1; done
echo "up after $i s"
IOC_KAFKA_BOOTSTRAP=127.0.0.1:$KPORT .venv/bin/ioc simulate --scale national --rate 1500 --seconds 120 --backfill-days 0 > ${OUT:-/tmp/ioc-national}/sim.log 2>&1 &
SIM=$!
for t in $(seq 0 10 170); do
  m=$(curl -s http://127.0.0.1:$PORT/metrics | grep -E "^ioc_(events|kpi)" | awk '{printf "%s=%s ", $1, $2}')
  c=$(top -b -n1 | awk 'NR>7 && $9>5 {printf "%s:%s%% ", $12, $9}')
  echo "t=$t $m | $c"
  sleep 10
done
wait $SIM; cat ${OUT:-/tmp/ioc-national}/sim.log
curl -s -H "Authorization: Bearer $IOC_OPERATOR_TOKEN" http://127.0.0.1:$PORT/api/v1/live | python3 -c "import json,sys; d=json.load(sys.stdin); print('units', len(d.get('units',{})), 'age', d.get('age_s'))"
grep -ci "MessageSizeTooLarge\|too large" ${OUT:-/tmp/ioc-national}/data/logs/*.log
kill -INT $UP; wait $UP
