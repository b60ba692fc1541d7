"""The live rehearsal: an operator breaks and repairs hardware while ``gpuemu run`` plays.

Modules, one job each: :mod:`.keys` reads keys from the terminal without blocking the
simulation; :mod:`.controls` turns keys into cursor moves and injections;
:mod:`.recorder` writes every applied event as a planned events file; :mod:`.feed` keeps
the last failures, repairs and cuts from the event log; :mod:`.view` draws the legend,
the feed and the rack marks for the dashboard; :mod:`.session` wires them for the CLI.
"""
