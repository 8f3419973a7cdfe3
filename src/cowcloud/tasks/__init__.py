"""Durable background work: rows in the tasks table, claimed with leases, resumed after a crash."""

from .records import FAILURE, PENDING, PROCESSING, SUCCESS, TaskRecord, known_dead, new_worker_id
from .runner import Control, Handler, Retry, TaskRunner

__all__ = ["FAILURE", "PENDING", "PROCESSING", "SUCCESS", "Control", "Handler", "Retry",
           "TaskRecord", "TaskRunner", "known_dead", "new_worker_id"]
