"""The worker's processing core: a chain of small steps behind a narrow consumer interface.

    poll -> Intake (decode; invalid -> dead-letter path) -> PendingBatch (size / age)
         -> Label -> Store (outage policy) -> DeliverDeadLetters -> Commit -> Finish -> tail

`factory.build_core` is the one place the chain is put together. It builds the flush chain
twice from the same steps: for the loop (wait out a PostgreSQL outage, commit synchronously)
and for a revocation (give up and rewind, commit asynchronously, because kafka-python runs the
rebalance callback inside `poll` where a blocking call raises).
"""
