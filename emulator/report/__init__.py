"""Reports built from a run's output folder only: HTML with figures, a Perfetto trace.

Nothing here imports the simulation core: every figure and every trace event is a
function of the files a run writes (summary, Parquet tables, the resolved scenario),
so a report can be made long after the run, on another machine.

* :mod:`emulator.report.rundata` reads a run folder (or a finished run's in-memory
  results) into one :class:`~emulator.report.rundata.RunData`;
* ``fig_*`` modules draw one figure family each (matplotlib, Agg canvas);
* :mod:`emulator.report.html` assembles the self-contained HTML page;
* :mod:`emulator.report.perfetto` writes the Chrome / Perfetto trace-event JSON.
"""
