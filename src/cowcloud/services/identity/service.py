"""IdentityService: the identity domain behind the Keystone v3 API, in one object the API calls.

Each method takes the caller (its RequestContext, or for token and credential calls the
validated TokenInfo) and the URL clients reach cowcloud at, checks policy (services.policy),
reads the request body, and returns plain dicts shaped as Keystone's api-ref describes them;
the API adds only the collection wrappers and status codes. Database work goes through the
Identity store (records, one short transaction per call) off the event loop. The methods live
with their resource: domains.py, projects.py, users.py, roles.py, groups.py, grants.py,
tokens.py, credentials.py, catalog.py.
"""

from __future__ import annotations

from .catalog import CatalogCalls
from .credentials import CredentialService
from .domains import DomainService
from .grants import GrantService
from .groups import GroupService
from .projects import ProjectService
from .roles import RoleService
from .tokens import TokenService
from .users import UserService


class IdentityService(DomainService, ProjectService, UserService, RoleService, GroupService,
                      GrantService, TokenService, CredentialService, CatalogCalls):
    pass
