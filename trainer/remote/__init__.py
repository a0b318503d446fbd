"""Training on a Ray cluster, reached only through its dashboard. No torch; Ray itself only in
`head` (a local head for trying the path) — the rest speaks HTTP.

    spec       ClusterSpec (where and on what), ClusterError, the registry's device prefix
    local      the Launcher interface and LocalLauncher (a subprocess of this machine)
    cluster    RayLauncher: check a cluster, submit, stop, refresh a run from its job
    dashboard  Ray's Jobs REST API with a timeout on every call and a cap on every reply
    stage      what a job uploads (fixed at launch) and its working dir
    job        the job's entrypoint on the cluster (`python -m trainer.remote.job`)
    wire       the sync lines of the job's log: what they may say, and the checks on them
    protocol   applying the sync lines to the local run folder (re-exports wire's names)
    outcome    how a job ended: failed for its environment, interrupted, lost; remote.json
    billing    device kind and hours as the job measured them, beside the cluster's claim
    runs       the registry's side of remote runs (used by trainer.jobs.JobManager)
    head       `python -m trainer.remote.head`: a local Ray head on 127.0.0.1 only
"""
