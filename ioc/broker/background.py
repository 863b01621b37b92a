"""A daemon thread running its own asyncio loop until stopped: the Kafka feeds of the web
process (live figures, alerts, cameras), its embedded sink and the snapshot readers of the
worker and the camera process each subclass it and write only their ``_run`` (most of them:
``await self._follow(ConsumerLoop(...))``)."""

from __future__ import annotations

import asyncio
import threading
from typing import Self

from ioc.broker.consumer import ConsumerLoop


class BackgroundLoop:
    thread_name = "background-loop"

    def __init__(self) -> None:
        self._thread = threading.Thread(target=self._main, name=self.thread_name, daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)

    @property
    def stopping(self) -> bool:
        return self._stop is not None and self._stop.is_set()

    async def _pause(self, seconds: float) -> None:
        """Sleep ``seconds``, or less if a stop is asked meanwhile."""
        assert self._stop is not None
        try:
            await asyncio.wait_for(self._stop.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    async def _follow(self, *loops: ConsumerLoop) -> None:
        """Run ``loops`` side by side until this thread is stopped."""
        await asyncio.gather(*(loop.run(lambda: self.stopping, self._pause) for loop in loops))

    def _main(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        try:
            self._loop.run_until_complete(self._run())
        finally:
            self._loop.close()

    async def _run(self) -> None:
        raise NotImplementedError
