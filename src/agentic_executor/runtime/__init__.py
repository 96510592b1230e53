"""Durable execution: DBOS workflows and queues, workers, and session control (pause, resume, …)."""
