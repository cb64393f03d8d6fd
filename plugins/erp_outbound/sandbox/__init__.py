"""Local emulators of the vendor APIs (Procuros for now), with latency and fault switches."""

from .config import ProcurosConfig, SandboxConfig
from .server import SandboxRecord, SandboxServer, build_app, serve

__all__ = ["ProcurosConfig", "SandboxConfig", "SandboxRecord", "SandboxServer", "build_app", "serve"]
