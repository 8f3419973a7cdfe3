"""Identity: domains, projects, users, groups, roles and grants, without policy.

Every method is one short transaction and returns plain records (records.py). The API goes
through IdentityService (service.py), which checks policy and shapes Keystone's bodies; the CLI,
the bootstrap and the tests call this directly.
"""

from __future__ import annotations

from .assignments import AssignmentStore
from .domains import DomainStore
from .grants import GrantStore
from .groups import GroupStore
from .projects import ProjectStore
from .roles import RoleStore
from .users import UserStore


class Identity(DomainStore, ProjectStore, UserStore, RoleStore, GroupStore, GrantStore,
               AssignmentStore):
    pass
