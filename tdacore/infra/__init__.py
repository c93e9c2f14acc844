"""Infrastructure that every layer may use: result files with their provenance and atomic
writes (store), seeds derived from the config's one seed (seeds), each step's log (steplog),
the device and threads a job runs with (runtime, devices: one GPU per job), and the import
closure by which the workflow tracks the sources of each rule (import_closure). The lowest
layer: it imports nothing else of tdacore."""
