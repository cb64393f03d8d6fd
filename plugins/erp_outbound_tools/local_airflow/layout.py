"""Where the local Airflow keeps its files: everything under one work folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
DAGS_FOLDER = REPO / "dags"
DEFAULT_WORKDIR = REPO / ".airflow-local"


@dataclass(frozen=True)
class Layout:
    workdir: Path

    @classmethod
    def at(cls, workdir: str | Path) -> Layout:
        return cls(Path(workdir).resolve())

    @property
    def airflow_home(self) -> Path:
        return self.workdir / "airflow_home"

    @property
    def metadata_db(self) -> Path:
        return self.airflow_home / "airflow.db"

    @property
    def erp_db(self) -> Path:
        return self.workdir / "erp.db"

    @property
    def reports(self) -> Path:
        return self.workdir / "reports"

    @property
    def staging(self) -> Path:
        return self.workdir / "staging"

    @property
    def logs(self) -> Path:
        """One log file per process we start (the task logs stay in AIRFLOW_HOME/logs)."""
        return self.workdir / "logs"

    @property
    def state_file(self) -> Path:
        return self.workdir / "local-airflow.json"

    @property
    def password_file(self) -> Path:
        """Where the simple auth manager writes the generated passwords."""
        return self.airflow_home / "simple_auth_manager_passwords.json.generated"

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def create(self) -> None:
        for folder in (self.workdir, self.airflow_home, self.reports, self.staging, self.logs):
            folder.mkdir(parents=True, exist_ok=True)
