"""``lurelens hunt``: scan whole archives in parallel and keep every verdict in the store.

The driver lists each source's partitions (picklable descriptors, about a thousand messages each),
skips those the store has finished with an unchanged fingerprint, and hands the rest to workers:
local processes (``-j N``) or an existing Dask cluster (``--dask ADDRESS``). A worker reads its
partition itself and scans with a Scanner built once per process (local workers are forked from a
server that built it); a local worker writes its rows to the store itself, a Dask worker sends back
compact rows (never message bytes) for the driver to write; a partition is marked done once every
slice of it is written.
Because the store's identity key makes a second write of a row a no-op, anything interrupted (the
driver killed, a worker dead, a Dask task re-run) is simply scanned again."""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import itertools
import multiprocessing
import os
import pickle
import signal
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from lurelens.settings import ScannerSettings
from lurelens.store import Store
from lurelens.store.rows import error_row, message_row
from lurelens.store.store import Written

__all__ = ["HuntResult", "PartitionResult", "prestart", "scan_partition", "run_hunt", "summary_text"]

# Scanners built in this process, by settings (their repr: Limits is not hashable): a pool worker
# or a Dask worker builds one per settings once and reuses it for every partition it is given.
_SCANNERS: dict[str, Any] = {}
# How often a partition whose worker died is tried again before it is stored as an error.
MAX_ATTEMPTS = 3


@dataclass
class PartitionResult:
    """What a worker sends back for one partition: rows to store and counts, no message bytes.

    The worker pickles its rows itself (``packed``), so that cost is measured with the rest of its
    CPU and what crosses to the driver (a pool pipe or Dask) is one bytes object, not a tree of dicts."""

    source: str
    key: str
    fingerprint: str
    rows: list[dict[str, Any]]
    items: int = 0  # everything read: messages, errors and skipped entries
    errors: int = 0
    skipped: int = 0
    cpu_s: float = 0.0  # the worker's CPU for this partition, everything included
    scan_s: float = 0.0  # of which inside Scanner.scan
    warm_s: float = 0.0  # besides: building this worker's Scanner (its first partition only)
    wall_s: float = 0.0  # the task's wall time in the worker (busy time, to tell idle workers)
    worker: str = ""
    packed: bytes | None = None
    # Set when the worker wrote its rows to the store itself (a local pool): (stored, already, labels).
    written: tuple[int, int, dict[str, int]] | None = None

    def pack(self) -> PartitionResult:
        self.packed, self.rows = pickle.dumps(self.rows, protocol=pickle.HIGHEST_PROTOCOL), []
        return self

    def unpacked_rows(self) -> list[dict[str, Any]]:
        if self.packed is not None:
            self.rows, self.packed = pickle.loads(self.packed), None
        return self.rows


def _scanner(settings: ScannerSettings):
    key = repr(settings)
    scanner = _SCANNERS.get(key)
    if scanner is None:
        from lurelens.scanner import Scanner

        scanner = _SCANNERS[key] = Scanner.from_settings(settings).warm()
    return scanner


def _init_worker(settings: ScannerSettings) -> None:
    _scanner(settings)


def _start_method() -> str:
    # forkserver: workers start from a clean, small server process rather than a copy of a driver
    # that may hold a database connection and threads (rich's refresh thread).
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def prestart(settings: ScannerSettings) -> None:
    """Start the local workers' fork server now, in the background, and have it import the hunt and
    build and warm the Scanner of ``settings`` once: every worker is then forked warm, at once. Called
    as early as possible (the CLI calls it before opening the store), so that this start-up runs while
    the driver opens the store and lists the first partition; the pool calls it too. Does nothing
    where there is no fork server, or when it runs already (its Scanner may then be of other
    settings: a worker then builds its own, as it would without this)."""
    if _start_method() != "forkserver":
        return
    import base64

    from multiprocessing import forkserver

    from lurelens.adapters._hunt_warm import ENV

    server = forkserver._forkserver  # type: ignore[attr-defined]
    if getattr(server, "_forkserver_pid", None) is not None:
        return
    forkserver.set_forkserver_preload(["__main__", "lurelens.adapters._hunt_warm"])
    os.environ[ENV] = base64.b64encode(pickle.dumps(settings)).decode("ascii")
    # The server starts with Ctrl-C ignored (an ignored signal stays ignored across exec, and so in
    # the workers forked from it): a Ctrl-C during its second of imports and warm-up would print a
    # traceback from it. The driver alone handles Ctrl-C: it stops handing out work and lets the
    # slices in flight end. Only the main thread may change a signal's handler.
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        forkserver.ensure_running()
    except Exception:  # noqa: BLE001 - only a head start: the pool starts it, or says why it cannot
        pass
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)
        os.environ.pop(ENV, None)  # the server has its copy; nothing else of this process needs it


# Stores opened in this worker process, by URL (local pool workers write their rows themselves).
_STORES: dict[str, Store] = {}


def _worker_store(url: str) -> Store:
    store = _STORES.get(url)
    if store is None:
        store = _STORES[url] = Store(url)
    return store


def scan_partition(part, settings: ScannerSettings, piece: int | None = None,
                   sink: str | None = None, run_id: int | None = None) -> PartitionResult:
    """Read and scan one partition, or its slice number ``piece`` (runs in a worker). Never raises
    for a bad message or a reader that fails part-way: those become error rows. With ``sink`` (the
    store's URL), the worker writes the rows itself in one transaction and sends back only counts;
    without, it sends the rows back for the driver to write (a Dask worker may not reach the store)."""
    cpu0, wall0 = time.process_time(), time.monotonic()
    scanner = _scanner(settings)
    warm = time.process_time() - cpu0  # building the Scanner: once per worker process (start-up)
    res = PartitionResult(part.source, part.key, part.fingerprint, [], worker=f"{os.uname().nodename}:{os.getpid()}")
    try:
        for item in part.read():
            res.items += 1
            if item.data is None:
                if item.error is None:  # deliberately passed over: not a message (see Item.note)
                    res.skipped += 1
                    continue
                res.errors += 1
                res.rows.append(error_row(item.source, item.locator, None, item.error))
                continue
            sha = hashlib.sha256(item.data).hexdigest()
            try:
                t = time.process_time()
                verdict = scanner.scan(item.data, file=item.locator)
                res.scan_s += time.process_time() - t
                res.rows.append(message_row(item.source, item.locator, sha, len(item.data), verdict))
            except Exception as exc:  # noqa: BLE001 - one message must not stop the hunt
                res.errors += 1
                res.rows.append(error_row(item.source, item.locator, sha,
                                          f"internal error while scanning: {type(exc).__name__}: {exc}", len(item.data)))
    except Exception as exc:  # noqa: BLE001 - a reader failing part-way: keep what was read, say so
        res.errors += 1
        where = part.key if piece is None else f"{part.key}#{piece}"
        res.rows.append(error_row(part.source, f"{where}#read-error", None,
                                  f"reading the partition stopped after {res.items} items: {type(exc).__name__}: {exc}"))
    if sink is not None:
        w = _worker_store(sink).write(res.rows, run_id=run_id, clean=True)
        res.written, res.rows = (w.stored, w.already, w.labels), []
    else:
        res.pack()
    res.cpu_s = time.process_time() - cpu0 - warm
    res.warm_s = warm
    res.wall_s = time.monotonic() - wall0
    return res


@dataclass
class HuntResult:
    """The summary of a hunt (``--json``)."""

    run: int
    db: str
    sources: list[str]
    partitions_total: int = 0
    partitions_scanned: int = 0
    partitions_unchanged: int = 0
    messages_in_unchanged: int = 0
    items_read: int = 0
    stored: int = 0
    already_stored: int = 0
    errors: int = 0
    skipped: int = 0
    verdicts: dict[str, int] = field(default_factory=dict)
    source_errors: list[dict[str, str]] = field(default_factory=list)
    elapsed_s: float = 0.0
    worker_cpu_s: float = 0.0  # the workers' CPU summed: reading, scanning, building and pickling rows
    scan_cpu_s: float = 0.0  # of which inside Scanner.scan (the rest is the hunt's own overhead)
    warm_cpu_s: float = 0.0  # besides: building the Scanners (a Dask worker's first task; not
    # counted for a local pool, whose workers build theirs before their first task)
    worker_busy_s: float = 0.0  # the workers' wall time inside tasks, summed: over workers x elapsed_s
    # it is how busy they were kept (start-up, waiting for work and the last task's tail are the rest)
    driver_cpu_s: float = 0.0  # this process: planning, receiving rows, writing the store
    store_s: float = 0.0  # wall time of the store's writes (in the driver)
    first_result_s: float | None = None  # from the start to the first partition stored (start-up)
    messages_per_s: float = 0.0
    mode: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Local:
    """Worker processes on this machine. A worker that dies (killed, out of memory) breaks the pool:
    it is rebuilt and the partitions that were in flight are submitted again."""

    def __init__(self, jobs: int, settings: ScannerSettings, sink: str | None = None, run_id: int | None = None):
        # sink: the store's URL when the workers write their rows themselves (the driver then only
        # marks partitions done): no rows cross a pipe, and the driver takes no CPU from the workers.
        self.jobs, self.settings, self.sink, self.run_id = jobs, settings, sink, run_id
        self.ctx = multiprocessing.get_context(_start_method())
        prestart(settings)
        self.pool = self._new_pool()
        self.window = 2 * jobs

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(self.jobs, mp_context=self.ctx, initializer=_init_worker,
                                      initargs=(self.settings,))

    def submit(self, part, piece: int | None = None):
        try:
            return self.pool.submit(scan_partition, part, self.settings, piece, self.sink, self.run_id)
        except cf.process.BrokenProcessPool as exc:
            # A worker died since the last submit: the pool refuses new work at once. Handed back as
            # a failed task, it takes the same path as the tasks in flight on that pool (``lost``:
            # a new pool, every task submitted again), instead of ending the hunt with a traceback.
            fut: cf.Future = cf.Future()
            fut.set_exception(exc)
            return fut

    def wait(self, futures):
        return cf.wait(futures, return_when=cf.FIRST_COMPLETED).done

    def lost(self, exc: BaseException) -> bool:
        if isinstance(exc, cf.process.BrokenProcessPool):
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = self._new_pool()
            return True
        return False

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class _Dask:
    """An existing ``dask.distributed`` cluster: one task per partition. Results come straight from
    the workers to this driver (``direct_to_workers``), not through the scheduler; the scheduler
    re-runs the task of a worker that died."""

    def __init__(self, address: str, settings: ScannerSettings):
        from distributed import Client

        self.settings = settings
        self.client = Client(address, direct_to_workers=True, timeout=60)
        threads = sum(self.client.nthreads().values()) or 1
        self.window = max(4, 2 * threads)

    def submit(self, part, piece: int | None = None):
        # pure=False: a partition re-read later may hold new messages, never reuse a cached result.
        return self.client.submit(scan_partition, part, self.settings, piece, pure=False, retries=2)

    def wait(self, futures):
        from distributed import wait

        return wait(list(futures), return_when="FIRST_COMPLETED").done

    def lost(self, exc: BaseException) -> bool:
        from distributed import KilledWorker

        return isinstance(exc, KilledWorker)

    def close(self) -> None:
        self.client.close()


def run_hunt(
    specs: list[str],
    store: Store,
    settings: ScannerSettings,
    *,
    jobs: int = 1,
    dask: str | None = None,
    partition_size: int = 1000,
    glob: str | None = None,
    on_plan: Callable[[int | None], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
    opener: Callable[[str], Any] | None = None,
) -> HuntResult:
    """Hunt ``specs`` into ``store``. ``on_plan(total)`` is called once the sources are open (with
    None), and again with their total message count once listing them ends if every partition knew
    its count; ``on_progress(n)`` as messages are done or found done already.
    ``opener(spec)`` opens a source (default: ``lurelens.sources.open_source`` with ``glob``)."""
    if opener is None:
        from lurelens.sources import open_source

        def opener(spec: str):
            return open_source(spec, glob=glob)

    t0, cpu0 = time.monotonic(), time.process_time()
    run_id = store.begin_run(specs, _settings_dict(settings))
    out = HuntResult(run=run_id, db=_safe_url(store.url), sources=list(specs),
                     mode=f"dask {dask}" if dask else f"local -j {jobs}")
    labels: Counter[str] = Counter()
    state = "failed"
    planner = None
    try:
        planner = _Planner(_open_sources(specs, opener, out), partition_size, out)
        planner.start()
        if on_plan:
            on_plan(None)  # the total follows once the listing (which runs ahead of the scan) ends
        planned = [False]

        def plan() -> None:
            if on_plan and not planned[0] and planner.finished:
                planned[0] = True
                if planner.total is not None:
                    on_plan(planner.total)

        pending = _pending(planner, store, out, on_progress, plan)
        first = next(pending, None)
        if first is not None:  # an unchanged archive starts no worker at all
            runner = _Dask(dask, settings) if dask else _Local(jobs, settings, _sink(store), run_id)
            try:
                _execute(runner, itertools.chain([first], pending), store, run_id, out, labels, on_progress, t0, plan)
            finally:
                runner.close()
        plan()
        state = "done"
    except KeyboardInterrupt:
        state = "interrupted"
        raise
    finally:
        out.verdicts = dict(labels.most_common())
        out.elapsed_s = round(time.monotonic() - t0, 3)
        out.worker_cpu_s = round(out.worker_cpu_s, 3)
        out.scan_cpu_s = round(out.scan_cpu_s, 3)
        out.warm_cpu_s = round(out.warm_cpu_s, 3)
        out.worker_busy_s = round(out.worker_busy_s, 3)
        out.store_s = round(out.store_s, 3)
        out.driver_cpu_s = round(time.process_time() - cpu0, 3)
        out.messages_per_s = round(out.items_read / out.elapsed_s, 1) if out.elapsed_s else 0.0
        try:
            store.finish_run(run_id, out.to_dict(), state)
        except Exception:  # noqa: BLE001 - the original error matters more than the bookkeeping
            if state == "done":
                raise
        finally:
            if planner is not None:
                planner.stop()
    return out


def _open_sources(specs: list[str], open_source, out: HuntResult) -> list:
    """The sources that open (a missing or unreadable one is reported and the rest hunted)."""
    sources: list = []
    for spec in specs:
        try:
            sources.append((spec, open_source(spec)))
        except Exception as exc:  # noqa: BLE001 - a missing or unreadable source: say so, hunt the rest
            out.source_errors.append({"source": spec, "error": f"{type(exc).__name__}: {exc}"})
    return sources


class _Planner(threading.Thread):
    """Lists the sources' partitions in a thread, ahead of the scan: the first partition of an mbox
    is handed out while the rest of the file is still being indexed (the workers start at once),
    and the total is known early for the progress bar. What is listed but not yet taken is bounded
    (by the size of the partitions' descriptors), so a huge tree of files is never held whole."""

    MAX_QUEUED = 200_000  # descriptor entries (a path of a 'paths' partition, an mbox range's fields)

    def __init__(self, sources: list, partition_size: int, out: HuntResult):
        super().__init__(name="lurelens-hunt-planner", daemon=True)
        self.sources, self.partition_size, self.out = sources, partition_size, out
        self.cv = threading.Condition()
        self.queue: deque = deque()
        self.weight = 0
        self.total: int | None = 0
        self.finished = self.stopped = False

    def run(self) -> None:
        try:
            for spec, src in self.sources:
                try:
                    for part in src.partitions(target=self.partition_size):
                        w = len(getattr(part, "params", ())) + 1
                        with self.cv:
                            while self.weight > self.MAX_QUEUED and not self.stopped:
                                self.cv.wait()
                            if self.stopped:
                                return
                            self.queue.append(part)
                            self.weight += w
                            n = part.estimated_messages
                            self.total = None if self.total is None or n is None else self.total + n
                            self.cv.notify_all()
                except Exception as exc:  # noqa: BLE001 - a source failing while listed: keep what was listed
                    self.out.source_errors.append({"source": spec, "error": f"{type(exc).__name__}: {exc}"})
        finally:
            with self.cv:
                self.finished = True
                self.cv.notify_all()

    def __iter__(self) -> Iterator:
        while True:
            with self.cv:
                while not self.queue and not self.finished:
                    self.cv.wait()
                if not self.queue:
                    return
                part = self.queue.popleft()
                self.weight -= len(getattr(part, "params", ())) + 1
                self.cv.notify_all()
            yield part

    def stop(self) -> None:
        with self.cv:
            self.stopped = True
            self.cv.notify_all()


def _pending(planner: _Planner, store: Store, out: HuntResult,
             on_progress: Callable[[int], None] | None, plan: Callable[[], None]) -> Iterator:
    """The partitions still to scan, lazily: those the store has finished with the same fingerprint
    are counted and passed over."""
    done_by_source: dict[str, dict[str, tuple[str, int]]] = {}
    for part in planner:
        plan()
        out.partitions_total += 1
        done = done_by_source.get(part.source)
        if done is None:
            done = done_by_source[part.source] = store.done_partitions(part.source)
        prev = done.get(part.key)
        if prev is not None and prev[0] == part.fingerprint:
            out.partitions_unchanged += 1
            out.messages_in_unchanged += prev[1]
            if on_progress:
                on_progress(prev[1])
            continue
        yield part


@dataclass
class _Group:
    """A partition handed out as slices: it is marked done with its last slice's write."""

    part: Any
    left: int
    rows: int = 0


def _tasks(part) -> list:
    """The tasks of a partition: its slices where its kind can be cut (smaller tasks keep every
    worker busy to the end of a hunt), else the partition itself."""
    slices = getattr(part, "slices", None)
    return slices() if slices is not None else [part]


def _execute(runner, parts: Iterator, store: Store, run_id: int, out: HuntResult, labels: Counter,
             on_progress: Callable[[int], None] | None, t0: float, plan: Callable[[], None]) -> None:
    todo: deque = deque()  # (task, its group, piece, attempt): to submit
    inflight: dict[Any, tuple[Any, _Group, int, int]] = {}
    while True:
        while len(inflight) < runner.window:
            if not todo:
                part = next(parts, None)
                if part is None:
                    break
                tasks = _tasks(part)
                group = _Group(part, len(tasks))
                todo.extend((t, group, i if len(tasks) > 1 else None, 1) for i, t in enumerate(tasks))
            task, group, piece, attempt = todo.popleft()
            inflight[runner.submit(task, piece)] = (task, group, piece, attempt)
        plan()
        if not inflight:
            return
        for fut in runner.wait(list(inflight)):
            if fut not in inflight:  # already put back with its broken pool
                continue
            task, group, piece, attempt = inflight.pop(fut)
            try:
                res: PartitionResult = fut.result()
            except Exception as exc:  # noqa: BLE001 - a worker died or the task failed
                if runner.lost(exc) and isinstance(runner, _Local):
                    # Every task in flight on a broken local pool is lost with it.
                    todo.extendleft(inflight.values())
                    inflight.clear()
                if attempt < MAX_ATTEMPTS:
                    todo.appendleft((task, group, piece, attempt + 1))
                    continue
                where = group.part.key if piece is None else f"{group.part.key}#{piece}"
                res = PartitionResult(task.source, task.key, task.fingerprint, [error_row(
                    task.source, f"{where}#failed", None,
                    f"scanning this partition failed {attempt} times ({type(exc).__name__}: {exc}); "
                    "its messages are not stored")], items=0, errors=1)
            group.left -= 1
            _store(store, run_id, res, out, labels, group)
            if out.first_result_s is None:
                out.first_result_s = round(time.monotonic() - t0, 3)
            if on_progress:
                on_progress(res.items)


def _store(store: Store, run_id: int, res: PartitionResult, out: HuntResult, labels: Counter, group: _Group) -> None:
    """Write one task's rows; the write of a partition's last task marks the partition done."""
    t = time.monotonic()
    last = group.left == 0
    partition = (res.source, res.key, res.fingerprint) if last else None
    if res.written is not None:  # the worker wrote its rows: count them, mark the partition done
        stored, already, new_labels = res.written
        group.rows += stored + already
        if partition is not None:
            store.mark_done(partition, group.rows, run_id)
        w = Written(stored, already, new_labels)
    else:
        rows = res.unpacked_rows()
        group.rows += len(rows)
        w = store.write(rows, run_id=run_id, partition=partition, messages=group.rows, clean=True)
    out.store_s += time.monotonic() - t
    out.partitions_scanned += last
    out.items_read += res.items
    out.stored += w.stored
    out.already_stored += w.already
    out.errors += res.errors
    out.skipped += res.skipped
    out.worker_cpu_s += res.cpu_s
    out.scan_cpu_s += res.scan_s
    out.warm_cpu_s += res.warm_s
    out.worker_busy_s += res.wall_s
    labels.update(w.labels)
    res.rows.clear()


def _sink(store: Store) -> str | None:
    """The store's URL for local workers to write their rows to, or None for the driver to write
    them (when workers cannot open the same database: an in-memory SQLite). Workers write for every
    ``-j``, so ``-j N`` is N processes' work and the driver stays out of it: with ``-j 1`` on a
    machine with a core to spare, the driver could write on that core and the hunt would be faster,
    but it would then use more than the one core asked for."""
    from sqlalchemy.engine import make_url

    url = make_url(store.url)
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return None
    return store.url


def _settings_dict(settings: ScannerSettings) -> dict[str, Any]:
    d = asdict(settings)
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def iter_hits_lines(hits: Iterator[dict[str, Any]]) -> Iterator[str]:
    """Hits as JSON Lines."""
    from lurelens.report.jsonout import dumps

    for h in hits:
        yield dumps(h)


def summary_text(r: HuntResult) -> str:
    """The one-paragraph summary printed at the end of a hunt."""
    verdicts = ", ".join(f"{n:,} {label}" for label, n in r.verdicts.items())
    lines = [
        f"hunt run {r.run} ({r.mode}) into {r.db}: {r.items_read:,} messages read in {r.elapsed_s:.1f} s "
        f"({r.messages_per_s:,.0f} msg/s)",
        f"  stored {r.stored:,}" + (f" ({verdicts})" if verdicts else "")
        + f"; already stored {r.already_stored:,}; errors {r.errors:,}"
        + (f"; not mail, skipped {r.skipped:,}" if r.skipped else ""),
        f"  partitions: {r.partitions_scanned:,} scanned, {r.partitions_unchanged:,} unchanged since the last run"
        f" ({r.messages_in_unchanged:,} messages, not read again)",
    ]
    for e in r.source_errors:
        lines.append(f"  error: {e['source']}: {e['error']}")
    return "\n".join(lines)
