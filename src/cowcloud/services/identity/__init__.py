"""Identity: domains, projects, users, groups, roles, grants, and the first-start bootstrap.

Identity (store.py) is the policy-free store the CLI, the bootstrap and authn use; it returns
records. IdentityService (service.py) is what the Keystone API calls: policy, bodies, views.
Each resource has one module holding both its store and its API methods.
"""

from .bootstrap import ADMIN_PASSWORD_FILE, ENV_ADMIN_PASSWORD, BootstrapResult, bootstrap
from .common import (
    ADMIN,
    BUILTIN_ROLES,
    DEFAULT_DOMAIN_ID,
    DEFAULT_DOMAIN_NAME,
    IMPLIES,
    expand_implied,
    plain,
)
from .records import Assignment
from .service import IdentityService
from .store import Identity

__all__ = ["ADMIN", "ADMIN_PASSWORD_FILE", "BUILTIN_ROLES", "DEFAULT_DOMAIN_ID",
           "DEFAULT_DOMAIN_NAME", "ENV_ADMIN_PASSWORD", "IMPLIES", "Assignment",
           "BootstrapResult", "Identity", "IdentityService", "bootstrap", "expand_implied",
           "plain"]
