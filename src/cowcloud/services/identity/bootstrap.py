"""The first start: the Default domain, the built-in roles, and the admin user and project."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from ...config import Settings
from ...db import Database
from ...db.models import Domain, Project, Role, RoleAssignment, User
from ..passwords import hash_secret, random_secret, verify_secret
from .common import ADMIN, BUILTIN_ROLES, DEFAULT_DOMAIN_ID, DEFAULT_DOMAIN_NAME
from .grants import find_grant

ENV_ADMIN_PASSWORD = "COWCLOUD_ADMIN_PASSWORD"
ADMIN_PASSWORD_FILE = "admin-password"


@dataclass(frozen=True)
class BootstrapResult:
    user: str
    project: str
    domain: str
    password: str | None  # None: the admin exists and its password is nowhere we can read
    password_source: str  # "$COWCLOUD_ADMIN_PASSWORD", the password file's path, or "unknown"


def _read_or_make_password(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    password = random_secret(18)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(password + "\n")
    return password


def bootstrap(db: Database, settings: Settings,
              admin_password: str | None = None) -> BootstrapResult:
    """The Default domain (id `default`), roles admin/member/reader, project `admin` and user
    `admin` holding the admin role on it. Idempotent: a restart finds them and changes nothing,
    except that a given `admin_password` (from $COWCLOUD_ADMIN_PASSWORD) becomes the password.
    Without one, a random password is made once and kept in DATA_DIR/admin-password (0600).
    """
    password_file = settings.server.data_dir / ADMIN_PASSWORD_FILE
    source = f"${ENV_ADMIN_PASSWORD}" if admin_password else str(password_file)
    with db.session() as s:
        domain = s.get(Domain, DEFAULT_DOMAIN_ID)
        if domain is None:
            domain = Domain(id=DEFAULT_DOMAIN_ID, name=DEFAULT_DOMAIN_NAME,
                            description="The default domain")
            s.add(domain)
        domain_name = domain.name  # renamed through the API perhaps: clouds.yaml names it
        roles = {r.name: r for r in s.scalars(select(Role).where(Role.name.in_(BUILTIN_ROLES)))}
        for name in BUILTIN_ROLES:
            if name not in roles:
                roles[name] = Role(name=name)
                s.add(roles[name])
        project = s.scalar(select(Project).where(Project.domain_id == DEFAULT_DOMAIN_ID,
                                                 Project.name == ADMIN))
        if project is None:
            project = Project(name=ADMIN, domain_id=DEFAULT_DOMAIN_ID,
                              description="Bootstrap project for initializing the cloud.")
            s.add(project)
        user = s.scalar(select(User).where(User.domain_id == DEFAULT_DOMAIN_ID,
                                           User.name == ADMIN))
        password = admin_password
        if user is None:
            password = password or _read_or_make_password(password_file)
            user = User(name=ADMIN, domain_id=DEFAULT_DOMAIN_ID,
                        password_hash=hash_secret(password))
            s.add(user)
        elif password and not verify_secret(user.password_hash, password):
            user.password_hash = hash_secret(password)
        elif not password:
            password = password_file.read_text().strip() if password_file.exists() else None
            source = source if password else "unknown"
        s.flush()
        user.default_project_id = user.default_project_id or project.id
        if find_grant(s, user.id, "project", project.id, roles[ADMIN].id) is None:
            s.add(RoleAssignment(actor_type="user", actor_id=user.id, target_type="project",
                                 target_id=project.id, role_id=roles[ADMIN].id))
    return BootstrapResult(user=ADMIN, project=ADMIN, domain=domain_name,
                           password=password, password_source=source)
