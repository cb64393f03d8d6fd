"""A folder that is local or on object storage, with the few file operations we need.

Local paths use pathlib. URLs (s3://, gs://, ...) use Airflow's ObjectStoragePath, so
workers on several machines share staging and reports through a bucket.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

# pandas and pyarrow are imported where frames are written and read: DAG files import this module
# (through the run report of the failure notifier), and Airflow parses them every 30 seconds.
if TYPE_CHECKING:
    import pandas as pd


def _is_url(location: str) -> bool:
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", location)) and not location.startswith("file://")


def safe_name(value: str) -> str:
    """Run ids hold ':' and '+'; keep file names portable."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", value)


RECORDS_PER_BATCH = 1000  # rows per record batch of a staged Arrow file, the unit read_records yields


class Folder:
    def __init__(self, location: str | Path):
        location = str(location)
        if location.startswith("file://"):
            location = location[len("file://"):]
        if _is_url(location):
            from airflow.sdk import ObjectStoragePath

            self.path = ObjectStoragePath(location)
        else:
            self.path = Path(location)
        self.location = str(self.path)

    def child(self, *names: str) -> Folder:
        return Folder(self.path.joinpath(*names))

    def _file(self, name: str):
        self.path.mkdir(parents=True, exist_ok=True)
        return self.path / name

    def write_text(self, name: str, text: str) -> str:
        target = self._file(name)
        with target.open("w", encoding="utf-8") as fh:
            fh.write(text)
        return str(target)

    def read_text(self, name: str) -> str | None:
        """A file's text, or None when it is not there."""
        target = self.path / name
        try:
            with target.open("r", encoding="utf-8") as fh:
                return fh.read()
        except FileNotFoundError:
            return None

    def write_lines(self, name: str, lines: Iterable[str]) -> str:
        target = self._file(name)
        with target.open("w", encoding="utf-8") as fh:
            for line in lines:
                fh.write(line)
                fh.write("\n")
        return str(target)

    def write_frame(self, name: str, frame: pd.DataFrame) -> str:
        target = self._file(name)
        buffer = io.BytesIO()
        parquet_safe(frame).to_parquet(buffer, index=False)
        with target.open("wb") as fh:
            fh.write(buffer.getvalue())
        return str(target)

    def write_records(self, name: str, frame: pd.DataFrame | pa.Table) -> str:
        """Rows for ``read_records``: an Arrow IPC (Feather) file, LZ4-compressed.

        Read back faster and with less memory than Parquet, and text columns (payload bodies)
        stay the strings they were, with no escaping either way. A ``pa.Table`` is written with
        its own schema: nested columns (build errors' fields and messages) stay data.
        """
        import pyarrow as pa
        import pyarrow.feather as feather

        target = self._file(name)
        buffer = pa.BufferOutputStream()
        rows = frame if isinstance(frame, pa.Table) else parquet_safe(frame)
        feather.write_feather(rows, buffer, compression="lz4", chunksize=RECORDS_PER_BATCH)
        with target.open("wb") as fh:
            fh.write(buffer.getvalue().to_pybytes())
        return str(target)

    def listing(self) -> Iterator[tuple[str, float]]:
        """Each file's name and modification time (seconds since the epoch); nothing when the folder is not there."""
        if not self.path.exists():
            return
        for entry in self.path.iterdir():
            if entry.is_file():
                yield entry.name, float(entry.stat().st_mtime)

    def delete(self, name: str) -> bool:
        """Remove one file; False when it was not there."""
        target = self.path / name
        try:
            target.unlink()
        except FileNotFoundError:
            return False
        return True

    def remove(self) -> None:
        if isinstance(self.path, Path):
            import shutil

            shutil.rmtree(self.path, ignore_errors=True)
        elif self.path.exists():
            self.path.rmdir(recursive=True)


def parquet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns mixing numbers and text (SQLite keeps '12,50' in a NUMERIC column) become text.

    The transforms then read the values and report what is not a number as a build error.
    """
    import pandas as pd

    mixed = [c for c in frame.columns if frame[c].dtype == object
             and pd.api.types.infer_dtype(frame[c], skipna=True).startswith("mixed")]
    if not mixed:
        return frame
    frame = frame.copy()
    for column in mixed:
        frame[column] = frame[column].map(lambda v: None if v is None or v != v else str(v))
    return frame


def _open(ref: str, mode: str):
    if _is_url(ref):
        from airflow.sdk import ObjectStoragePath

        return ObjectStoragePath(ref).open(mode)
    return open(ref, mode, encoding=None if "b" in mode else "utf-8")


def read_lines(ref: str) -> Iterator[str]:
    with _open(ref, "r") as fh:
        for line in fh:
            if line.strip():
                yield line.rstrip("\n")


def read_frame(ref: str) -> pd.DataFrame:
    import pandas as pd

    with _open(ref, "rb") as fh:
        return pd.read_parquet(io.BytesIO(fh.read()))


def read_records(ref: str) -> Iterator[list[dict]]:
    """A staged Arrow file (``Folder.write_records``), one list of row dicts per record batch.

    Batch by batch, so a file's rows never sit in memory twice (as Arrow and as Python).
    """
    import pyarrow as pa
    import pyarrow.ipc as ipc

    with _open(ref, "rb") as fh:
        data = fh.read()  # the compressed file: a fraction of its rows' size
    reader = ipc.open_file(pa.BufferReader(data))
    for n in range(reader.num_record_batches):
        yield reader.get_batch(n).to_pylist()
