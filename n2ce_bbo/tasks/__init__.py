"""Tasks: Design-Bench tasks from a data folder, embedded synthetic tasks, and your own data.

>>> from n2ce_bbo.tasks import make, list_tasks
>>> task = make("Branin-Exact-v0")          # no data needed
>>> data = task.offline_data()              # what an optimiser may see (no oracle)
"""

from n2ce_bbo.tasks.base import OfflineData, Task
from n2ce_bbo.tasks.custom import from_csv, from_design_bench, from_npz, register_arrays, register_csv, register_npz
from n2ce_bbo.tasks.data_dir import resolve_data_dir
from n2ce_bbo.tasks.registry import TaskInfo, list_tasks, make, register, task_table

__all__ = [
    "Task", "OfflineData", "TaskInfo", "make", "register", "list_tasks", "task_table", "from_csv", "from_npz",
    "from_design_bench", "register_arrays", "register_csv", "register_npz", "resolve_data_dir",
]
