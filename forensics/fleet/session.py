"""Starting Spark for a check or a conversion: a local master, a cluster, or Spark Connect.

`--master local[N]|spark://…|yarn` starts a classic session (the driver is this process);
`--remote sc://…` talks to a Spark Connect server. `--conf k=v` passes settings through.
The installed `forensics` package is shipped to the executors as a zip of its modules, so
they run the same detector code as this machine; its dependencies (DuckDB, PyArrow, …) must
be installed on the executors (see README, "Fleets on Apache Spark").
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final

from forensics.errors import SourceError, UsageError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DEFAULTS: Final = {
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.execution.arrow.maxRecordsPerBatch": "20000",
}


def start(
    master: str | None, remote: str | None, conf: Mapping[str, str], app: str = "forensics"
) -> tuple[SparkSession, bool]:
    """A Spark session as asked (a local one using every core when nothing is said), and
    whether it was started here (a session this process already runs is used as it is)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise UsageError(
            "Spark support is not installed",
            hint="pip install 'forensics[spark]' (PySpark 4; the machine needs Java 17 or newer)",
        ) from exc
    if master and remote:
        raise UsageError("--master and --remote exclude each other", hint="give one of them")
    if remote is None and shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise UsageError(
            "Spark needs Java 17 or newer, and no `java` is on the PATH",
            hint="install it (Debian: apt-get install openjdk-17-jre-headless) or set JAVA_HOME",
        )
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    active = SparkSession.getActiveSession()
    if active is not None and remote is None:
        return active, False
    builder = SparkSession.builder.appName(app)
    # no --master: spark-submit's, else PySpark's own default (local[*])
    if remote:
        builder = builder.remote(remote)
    elif master:
        builder = builder.master(master)
    for key, value in {**DEFAULTS, **conf}.items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:
        where = remote or master or "local[*]"
        raise SourceError(
            f"Spark did not start ({where}): {str(exc).splitlines()[0][:300]}",
            hint="check --master/--remote and the cluster; Spark's own log says more",
        ) from exc
    if remote or not (spark.sparkContext.master or "").startswith("local"):
        _ship(spark, remote is not None)
    return spark, True


def _ship(spark: SparkSession, connect: bool) -> None:
    """Send this machine's `forensics` package to the executors (as a zip on their path)."""
    import forensics

    root = Path(forensics.__file__).parent
    folder = Path(tempfile.mkdtemp(prefix="forensics-ship-"))
    archive = folder / "forensics.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                zf.write(path, Path("forensics") / path.relative_to(root))
    if connect:
        spark.addArtifacts(str(archive), pyfile=True)
    else:
        spark.sparkContext.addPyFile(str(archive))


def cores(spark: SparkSession) -> int:
    """The session's default parallelism (its cores); on Spark Connect, where the driver's
    context is not reachable, `spark.default.parallelism` or 2."""
    try:
        return int(spark.sparkContext.defaultParallelism)
    except Exception:  # Spark Connect has no SparkContext here
        try:
            return int(spark.conf.get("spark.default.parallelism", "2") or 2)
        except (ValueError, TypeError):
            return 2


def parse_conf(pairs: tuple[str, ...]) -> dict[str, str]:
    """`--conf k=v` pairs as a dict."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(
                f"--conf {pair!r} is not KEY=VALUE", hint="e.g. --conf spark.executor.memory=4g"
            )
        out[key.strip()] = value
    return out
