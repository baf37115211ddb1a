"""The drainers: what stores journaled deliveries soon after they were answered.

Any number may run at once, in any processes: the journal hands each delivery to
one drainer only (journal.py). Two kinds:

- `run_forever`, a process of its own (`flask webhooks drain --forever`). Under
  gunicorn, gunicorn.conf.py starts one beside the workers, at a lower CPU
  priority: the workers keep answering Meta at full speed however much there is
  to store, and the journal absorbs bursts.
- `Drainer`, inside a web process, for servers that start no drain process (the
  demo, tests, a gunicorn whose drain process died): it drains one batch right
  after a 200 was sent (at most every DRAIN_INTERVAL, so deliveries gather and
  share a transaction), in the request's own thread (a busy background thread
  would fight the request thread for the GIL), and a sweeper thread drains what
  is left when traffic stops and, every SWEEP_SECONDS, what another process left.

Both also replay, every CATCH_UP_SECONDS, kept changes whose number got linked
meanwhile (replay.replay_routable): what a link's own replay could not see yet.
"""
from __future__ import annotations

import logging
import os
import threading
import time

from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from .replay import CATCH_UP_SECONDS

log = logging.getLogger(__name__)

DRAIN_INTERVAL = 0.05  # seconds between drains after responses, per process
IDLE_TICK = 0.1  # the sweeper looks this often whether responses stopped draining
SWEEP_SECONDS = 1.0  # and drains at least this often, for other processes' leftovers
RETRY_SECONDS = 2.0  # after a database error (the deliveries stay journaled meanwhile)
IN_WORKER_ITEMS = 1000  # a worker drains smaller batches than a drain process: its next request waits
GATHER_SECONDS = 0.1  # run_forever: after a partial batch, let deliveries gather (a small drain costs 2-3x more per message)
IDLE_POLL_SECONDS = 0.05  # run_forever: an empty journal is looked at this often


def catch_up() -> None:
    """Replay kept changes that a linked number routes by now; failures are logged, not raised."""
    from .replay import replay_routable

    try:
        result = replay_routable()
        if result.replayed:
            log.info("replayed %d kept webhook change(s) whose number is linked now", result.replayed)
    except SQLAlchemyError as error:
        db.session.rollback()
        log.warning("replaying kept webhook changes failed (%s); the next catch-up tries again", type(error).__name__)
    except Exception:  # a bug: logged, and the next catch-up tries again
        db.session.rollback()
        log.exception("replaying kept webhook changes failed")
    finally:
        db.session.remove()


def run_forever(app, stop: threading.Event | None = None, parent_pid: int | None = None) -> None:
    """Drain as deliveries arrive until `stop` is set (or the process `parent_pid` is gone)."""
    from .journal import _Pace, drain_once

    stop = stop or threading.Event()
    last_catch_up = None
    with app.app_context():
        while not stop.is_set():
            if parent_pid is not None and os.getppid() != parent_pid:
                log.warning("webhook drain process: its parent is gone; stopping")
                return
            if last_catch_up is None or time.monotonic() - last_catch_up >= CATCH_UP_SECONDS:
                last_catch_up = time.monotonic()
                catch_up()
            limit = _Pace.limit()
            try:
                taken = drain_once().deliveries
            except SQLAlchemyError as error:
                log.warning("webhook drain failed (%s); retrying in %.0f s", type(error).__name__, RETRY_SECONDS)
                stop.wait(RETRY_SECONDS)
                continue
            except Exception:  # a bug: logged, and the next round tries again
                log.exception("webhook drain failed")
                stop.wait(RETRY_SECONDS)
                continue
            finally:
                db.session.remove()
            if taken == 0:
                stop.wait(IDLE_POLL_SECONDS)
            elif taken < limit:
                stop.wait(GATHER_SECONDS)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    # A process that exited but was not reaped yet (by the master) is a zombie: gone for us.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True  # no /proc (not Linux): kill(0) said it exists


class Drainer:
    """The drainer inside a web process (see the module's docstring)."""

    def __init__(self, app):
        self.app = app
        self._pid = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_drain = 0.0  # monotonic time of the last drain started in this process
        self._last_sweep = 0.0
        self._last_catch_up = 0.0  # set when the sweeper starts: its first catch-up waits CATCH_UP_SECONDS
        self._pending = False  # this process journaled something not drained yet
        self._failed_until = 0.0
        self._process_pids: list[int] = []  # drain processes that do the work while one lives
        self._process_checked = 0.0

    def hand_over_to(self, pids: list[int]) -> None:
        """Drain processes (gunicorn.conf.py) store the deliveries: this one only stands by."""
        self._process_pids = list(pids)
        self._process_checked = 0.0

    def wake(self) -> None:
        """A delivery was journaled in this process."""
        self._pending = True
        if self._pid != os.getpid():
            self.start()

    def after_response(self) -> None:
        """Drain one batch now, unless a drain ran within DRAIN_INTERVAL (or the database just failed)."""
        now = time.monotonic()
        if now - self._last_drain < DRAIN_INTERVAL or now < self._failed_until or self._process_alive(now):
            return
        self._last_drain = now
        self._drain(everything=False)

    def start(self) -> None:
        """Start this process's sweeper (after a fork the parent's thread does not exist here)."""
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._last_catch_up = time.monotonic()
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

    def _process_alive(self, now: float) -> bool:
        """Whether a drain process this one handed over to still runs (looked at once a second)."""
        if not self._process_pids:
            return False
        if now - self._process_checked >= 1.0:
            self._process_checked = now
            alive = [pid for pid in self._process_pids if _running(pid)]
            if not alive:
                log.warning("the webhook drain processes %s are gone; this worker drains again", self._process_pids)
            self._process_pids = alive
        return bool(self._process_pids)

    def _sweep(self) -> None:
        stop = self._stop
        while not stop.wait(IDLE_TICK):
            now = time.monotonic()
            idle = now - self._last_drain >= IDLE_TICK
            if now < self._failed_until or not idle or self._process_alive(now):
                continue
            if self._pending or now - self._last_sweep >= SWEEP_SECONDS:
                self._last_sweep = self._last_drain = now
                self._drain(everything=True)
            if now - self._last_catch_up >= CATCH_UP_SECONDS:
                self._last_catch_up = now
                with self.app.app_context():
                    catch_up()

    def _drain(self, everything: bool) -> None:
        from .journal import drain, drain_once

        with self.app.app_context():
            try:
                if everything:
                    self._pending = False
                    drain(items=IN_WORKER_ITEMS)
                elif drain_once(items=IN_WORKER_ITEMS).deliveries == 0:
                    self._pending = False
            except SQLAlchemyError as error:
                self._pending = True
                self._failed_until = time.monotonic() + RETRY_SECONDS
                log.warning("webhook drain failed (%s); retrying in %.0f s", type(error).__name__, RETRY_SECONDS)
            except Exception:  # never into a response or the sweeper: the next drain tries again
                log.exception("webhook drain failed")
            finally:
                db.session.remove()
