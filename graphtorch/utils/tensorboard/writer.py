"""``SummaryWriter``: PyTorch's TensorBoard writer API over the ``tensorboard`` package's
EventFileWriter (event files ``events.out.tfevents.*`` in ``log_dir``)."""

from __future__ import annotations

import os
import socket
import time
from datetime import datetime

from tensorboard.compat.proto.event_pb2 import Event, SessionLog
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from graphtorch.errors import GraphtorchError
from graphtorch.utils.tensorboard import summary
from graphtorch.utils.tensorboard.graph import graph_def


class FileWriter:
    """Writes Event protos (summaries, graphs) to one event file in ``log_dir``."""

    def __init__(self, log_dir: str, max_queue: int = 10, flush_secs: int = 120,
                 filename_suffix: str = ""):
        self.event_writer = EventFileWriter(str(log_dir), max_queue, flush_secs,
                                            filename_suffix)

    def get_logdir(self) -> str:
        return self.event_writer.get_logdir()

    def add_event(self, event: Event, step: int | None = None,
                  walltime: float | None = None) -> None:
        event.wall_time = time.time() if walltime is None else walltime
        if step is not None:
            event.step = int(step)
        self.event_writer.add_event(event)

    def add_summary(self, summ, global_step: int | None = None,
                    walltime: float | None = None) -> None:
        self.add_event(Event(summary=summ), global_step, walltime)

    def add_graph(self, gd, walltime: float | None = None) -> None:
        self.add_event(Event(graph_def=gd.SerializeToString()), None, walltime)

    def flush(self) -> None:
        self.event_writer.flush()

    def close(self) -> None:
        self.event_writer.close()

    def reopen(self) -> None:
        self.event_writer.reopen()


class SummaryWriter:
    """Logs scalars, histograms, text and graphs for TensorBoard, like
    ``torch.utils.tensorboard.SummaryWriter``.

    ``log_dir`` defaults to ``runs/<date>_<host><comment>``. ``add_scalars`` writes each
    sub-tag to its own directory ``log_dir/<main_tag>_<tag>`` (PyTorch's layout, so TensorBoard
    overlays the curves).
    """

    def __init__(self, log_dir: str | None = None, comment: str = "",
                 purge_step: int | None = None, max_queue: int = 10, flush_secs: int = 120,
                 filename_suffix: str = ""):
        if not log_dir:
            stamp = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", f"{stamp}_{socket.gethostname()}{comment}")
        self.log_dir = str(log_dir)
        self.purge_step = purge_step
        self.max_queue, self.flush_secs = max_queue, flush_secs
        self.filename_suffix = filename_suffix
        self.file_writer: FileWriter | None = None
        self.all_writers: dict[str, FileWriter] = {}
        self._get_file_writer()

    def _get_file_writer(self) -> FileWriter:
        if self.file_writer is None:
            self.file_writer = FileWriter(self.log_dir, self.max_queue, self.flush_secs,
                                          self.filename_suffix)
            self.all_writers[self.file_writer.get_logdir()] = self.file_writer
            if self.purge_step is not None:
                # a restarted run: TensorBoard drops events at or after this step
                start = SessionLog(status=SessionLog.START)
                self.file_writer.add_event(Event(step=self.purge_step, session_log=start))
                self.purge_step = None
        return self.file_writer

    def get_logdir(self) -> str:
        return self.log_dir

    def add_scalar(self, tag: str, scalar_value, global_step: int | None = None,
                   walltime: float | None = None, new_style: bool = False,
                   double_precision: bool = False) -> None:
        self._get_file_writer().add_summary(
            summary.scalar(tag, scalar_value, double_precision), global_step, walltime)

    def add_scalars(self, main_tag: str, tag_scalar_dict: dict,
                    global_step: int | None = None, walltime: float | None = None) -> None:
        walltime = time.time() if walltime is None else walltime
        base = self._get_file_writer().get_logdir()
        for tag, value in tag_scalar_dict.items():
            path = os.path.join(base, main_tag.replace("/", "_") + "_" + tag)
            writer = self.all_writers.get(path)
            if writer is None:
                writer = self.all_writers[path] = FileWriter(path, self.max_queue,
                                                             self.flush_secs,
                                                             self.filename_suffix)
            writer.add_summary(summary.scalar(main_tag, value), global_step, walltime)

    def add_histogram(self, tag: str, values, global_step: int | None = None,
                      bins="tensorflow", walltime: float | None = None,
                      max_bins: int | None = None) -> None:
        self._get_file_writer().add_summary(summary.histogram(tag, values, bins, max_bins),
                                            global_step, walltime)

    def add_text(self, tag: str, text_string: str, global_step: int | None = None,
                 walltime: float | None = None) -> None:
        if not isinstance(text_string, str):
            raise GraphtorchError(f"add_text({tag!r}): expected a str, got "
                                  f"{type(text_string).__name__}")
        self._get_file_writer().add_summary(summary.text(tag, text_string), global_step,
                                            walltime)

    def add_graph(self, model, input_to_model=None, verbose: bool = False,
                  use_strict_trace: bool = True) -> None:
        """The model's IR graph (scripted, traced, or eager traced with ``input_to_model``),
        module calls and control-flow blocks as name scopes."""
        gd = graph_def(model, input_to_model)
        if verbose:
            print(gd)
        self._get_file_writer().add_graph(gd)

    def flush(self) -> None:
        for writer in self.all_writers.values():
            writer.flush()

    def close(self) -> None:
        for writer in self.all_writers.values():
            writer.flush()
            writer.close()
        self.file_writer = None
        self.all_writers = {}

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
