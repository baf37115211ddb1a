"""The drainer: stores journaled deliveries soon after they were answered.

Two ways in, both safe to run in several processes at once (the journal hands each
delivery to one drainer only):

- After a response: once the lane has sent a 200, the same thread drains one
  batch before the worker takes its next request, at most every DRAIN_INTERVAL
  so that deliveries gather and a drain shares its fixed costs among many. It
  runs in the request's thread on purpose: a busy background thread in a web
  worker would fight the request thread for the GIL and slow every request.
- A sweeper thread, idle while responses keep draining: it drains what is left
  when traffic stops, and every SWEEP_SECONDS what other processes left behind
  (a worker that crashed or was restarted).

`flask webhooks drain` does the same by hand (or, with --forever, as a process of its own).
"""
from __future__ import annotations

import logging
import os
import threading
import time

from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db

log = logging.getLogger(__name__)

DRAIN_INTERVAL = 0.05  # seconds between drains after responses, per process
IDLE_TICK = 0.1  # the sweeper looks this often whether responses stopped draining
SWEEP_SECONDS = 1.0  # and drains at least this often, for other processes' leftovers
RETRY_SECONDS = 2.0  # after a database error (the deliveries stay journaled meanwhile)


class Drainer:
    def __init__(self, app):
        self.app = app
        self._pid = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_drain = 0.0  # monotonic time of the last drain started in this process
        self._last_sweep = 0.0
        self._pending = False  # this process journaled something not drained yet
        self._failed_until = 0.0

    def wake(self) -> None:
        """A delivery was journaled in this process."""
        self._pending = True
        if self._pid != os.getpid():
            self.start()

    def after_response(self) -> None:
        """Drain one batch now, unless a drain ran within DRAIN_INTERVAL (or the database just failed)."""
        now = time.monotonic()
        if now - self._last_drain < DRAIN_INTERVAL or now < self._failed_until:
            return
        self._last_drain = now
        self._drain(everything=False)

    def start(self) -> None:
        """Start this process's sweeper (after a fork the parent's thread does not exist here)."""
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._sweep, name="webhook-sweeper", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop this process's sweeper after its current drain (what it did not take stays journaled)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout)
        self._pid = None

    def _sweep(self) -> None:
        stop = self._stop
        while not stop.wait(IDLE_TICK):
            now = time.monotonic()
            idle = now - self._last_drain >= IDLE_TICK
            if now < self._failed_until or not idle:
                continue
            if self._pending or now - self._last_sweep >= SWEEP_SECONDS:
                self._last_sweep = self._last_drain = now
                self._drain(everything=True)

    def _drain(self, everything: bool) -> None:
        from .journal import drain, drain_once

        with self.app.app_context():
            try:
                if everything:
                    self._pending = False
                    drain()
                elif drain_once().deliveries == 0:
                    self._pending = False
            except SQLAlchemyError as error:
                self._pending = True
                self._failed_until = time.monotonic() + RETRY_SECONDS
                log.warning("webhook drain failed (%s); retrying in %.0f s", type(error).__name__, RETRY_SECONDS)
            except Exception:  # never into a response or the sweeper: the next drain tries again
                log.exception("webhook drain failed")
            finally:
                db.session.remove()
