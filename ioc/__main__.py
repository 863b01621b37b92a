from ioc.cli import main

if __name__ == "__main__":  # not when a spawned worker process imports it (dashboards/public/reports.py)
    raise SystemExit(main())
