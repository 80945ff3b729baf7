"""Benchmarks of the sync engine against the sandbox served over loopback HTTP.

`python -m bench` starts the sandbox in its own process with modelled server costs and the
service-protection limits switched on, drives the real engine (and a per-record baseline)
through the scenarios of issue 8, and writes the results to `BENCHMARKS.md`:

- `costs`: the modelled server costs and limits, and the `python -m sandbox serve` arguments;
- `ceiling`: the best records/s those limits allow, in closed form;
- `served`: the sandbox subprocess; `control`: its control planes (seed, edit, counters);
- `workload`: the bench mapping set and the user edits of each scenario;
- `harness`: the engine composed against the served sandbox;
- `scenarios`: one size's scenarios; `stage`: what they run against; `measure`: one timed run;
- `baseline`: the one-request-per-record strategy;
- `tally`: requests per side; `memory`: peak RSS; `capacity`: the sandbox alone;
- `cold_start`: `import function_app` time; `result`, `targets`, `report`: the rows, the
  issue's targets and the Markdown.
"""

from __future__ import annotations
