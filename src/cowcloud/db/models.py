"""SQLAlchemy 2 models: identity, images and durable tasks.

Rows hold metadata only; bytes live in the storage backends. Timestamps are timezone-aware UTC.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_id() -> str:
    return uuid.uuid4().hex


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every database: SQLite hands back naive ones otherwise."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        # SQLite keeps the wall time and drops the zone: store every instant in UTC
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON}


# --- identity --------------------------------------------------------------------------------

class Domain(Base):
    __tablename__ = "domains"
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    domain_id: Mapped[str] = mapped_column(ForeignKey("domains.id"))
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    domain_id: Mapped[str] = mapped_column(ForeignKey("domains.id"))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    default_project_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # tokens issued before this are refused: set when the password changes
    tokens_valid_after: Mapped[datetime | None] = mapped_column()


class Role(Base):
    __tablename__ = "roles"
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")


class RoleAssignment(Base):
    """A role for a user or a group (actor_type 'user' or 'group') on a project or a domain
    (target_type 'project' or 'domain'): Keystone's one assignment table. The actor and the
    target name rows of two tables each, so no foreign key guards them: deleting a user, group,
    project or domain deletes its assignments itself (services.identity)."""

    __tablename__ = "role_assignments"
    __table_args__ = (UniqueConstraint("actor_type", "actor_id", "target_type", "target_id",
                                       "role_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[str] = mapped_column(String(64), index=True)
    role_id: Mapped[str] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"))


class Group(Base):
    """A Keystone group: its members hold every role granted to it."""

    __tablename__ = "groups"
    __table_args__ = (UniqueConstraint("domain_id", "name"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    domain_id: Mapped[str] = mapped_column(ForeignKey("domains.id"))
    description: Mapped[str] = mapped_column(Text, default="")


class UserGroupMembership(Base):
    __tablename__ = "user_group_membership"
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    group_id: Mapped[str] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"),
                                          primary_key=True, index=True)


class ApplicationCredential(Base):
    __tablename__ = "application_credentials"
    __table_args__ = (UniqueConstraint("user_id", "name"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    secret_hash: Mapped[str] = mapped_column(String(255))
    roles: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"ids": [...]} delegated roles
    unrestricted: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RevokedToken(Base):
    """Revocation by audit id, as Keystone does: a token is refused while its row exists."""

    __tablename__ = "revoked_tokens"
    audit_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)  # prune after the token's own expiry
    revoked_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- images ----------------------------------------------------------------------------------

class Image(Base):
    __tablename__ = "images"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255), index=True)
    status: Mapped[str] = mapped_column(String(32), default="queued", index=True)
    visibility: Mapped[str] = mapped_column(String(16), default="shared", index=True)
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    os_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    owner: Mapped[str | None] = mapped_column(String(255), index=True)  # as Glance: any project id
    disk_format: Mapped[str | None] = mapped_column(String(32))
    container_format: Mapped[str | None] = mapped_column(String(32))
    size: Mapped[int | None] = mapped_column(BigInteger)
    virtual_size: Mapped[int | None] = mapped_column(BigInteger)
    checksum: Mapped[str | None] = mapped_column(String(32))
    os_hash_algo: Mapped[str | None] = mapped_column(String(64))
    os_hash_value: Mapped[str | None] = mapped_column(String(128))
    min_disk: Mapped[int] = mapped_column(Integer, default=0)
    min_ram: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    properties: Mapped[list[ImageProperty]] = relationship(
        cascade="all, delete-orphan", lazy="selectin")
    tags: Mapped[list[ImageTag]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    locations: Mapped[list[ImageLocation]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ImageLocation.id")
    members: Mapped[list[ImageMember]] = relationship(cascade="all, delete-orphan")


class ImageProperty(Base):
    __tablename__ = "image_properties"
    image_id: Mapped[str] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"),
                                          primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ImageTag(Base):
    __tablename__ = "image_tags"
    image_id: Mapped[str] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"),
                                          primary_key=True)
    value: Mapped[str] = mapped_column(String(255), primary_key=True)


class ImageMember(Base):
    __tablename__ = "image_members"
    image_id: Mapped[str] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"),
                                          primary_key=True)
    member_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ImageLocation(Base):
    """One row per store an image is (or is being put) in: status pending, active or deleting."""

    __tablename__ = "image_locations"
    __table_args__ = (UniqueConstraint("image_id", "store"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    image_id: Mapped[str] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), index=True)
    store: Mapped[str] = mapped_column(String(255))
    url: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)


# --- durable tasks ---------------------------------------------------------------------------

class Task(Base):
    """Background work (import, copy, convert, flatten) that survives a restart.

    A worker claims a task by setting `worker` and `lease_until`; after a crash the lease runs out
    and recovery resumes or fails it, undoing what `state` records it had created.
    """

    __tablename__ = "tasks"
    id: Mapped[str] = mapped_column(String(36), primary_key=True,
                                    default=lambda: str(uuid.uuid4()))
    kind: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    owner: Mapped[str | None] = mapped_column(String(64))
    resource_id: Mapped[str | None] = mapped_column(String(64), index=True)
    input: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    message: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# --- metadata definitions (Glance's metadefs catalog) ----------------------------------------
# Integer keys as in Glance: children point at the namespace row, so a rename touches one row.
# Deleting a namespace deletes its children (ON DELETE CASCADE, and the ORM cascade below).

class MetadefNamespace(Base):
    __tablename__ = "metadef_namespaces"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(80))
    description: Mapped[str | None] = mapped_column(Text)
    visibility: Mapped[str] = mapped_column(String(32), default="private")
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    owner: Mapped[str] = mapped_column(String(255), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    objects: Mapped[list[MetadefObject]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True)
    properties: Mapped[list[MetadefProperty]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True)
    tags: Mapped[list[MetadefTag]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True)
    associations: Mapped[list[MetadefNamespaceResourceType]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True)


class MetadefObject(Base):
    __tablename__ = "metadef_objects"
    __table_args__ = (UniqueConstraint("namespace_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = mapped_column(
        ForeignKey("metadef_namespaces.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    description: Mapped[str | None] = mapped_column(Text)
    required: Mapped[list[str] | None] = mapped_column(JSON)
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)  # name -> property schema
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MetadefProperty(Base):
    __tablename__ = "metadef_properties"
    __table_args__ = (UniqueConstraint("namespace_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = mapped_column(
        ForeignKey("metadef_namespaces.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    json_schema: Mapped[dict[str, Any]] = mapped_column(default=dict)  # title, type, enum, ...
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MetadefTag(Base):
    __tablename__ = "metadef_tags"
    __table_args__ = (UniqueConstraint("namespace_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace_id: Mapped[int] = mapped_column(
        ForeignKey("metadef_namespaces.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MetadefResourceType(Base):
    """A kind of resource namespaces apply to (OS::Glance::Image, ...); `protected` marks the
    ones seeded by the migration, which nothing deletes."""

    __tablename__ = "metadef_resource_types"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MetadefNamespaceResourceType(Base):
    """A namespace applying to a resource type, with the prefix its properties take there."""

    __tablename__ = "metadef_namespace_resource_types"
    namespace_id: Mapped[int] = mapped_column(
        ForeignKey("metadef_namespaces.id", ondelete="CASCADE"), primary_key=True)
    resource_type_id: Mapped[int] = mapped_column(
        ForeignKey("metadef_resource_types.id", ondelete="CASCADE"), primary_key=True)
    prefix: Mapped[str | None] = mapped_column(String(80))
    properties_target: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    resource_type: Mapped[MetadefResourceType] = relationship(lazy="joined")


# --- volumes (Cinder's Block Storage v3) ----------------------------------------------------
# A volume's bytes are device `volume-<id>` in its backend's pool; cluster and pool are kept on
# the row so a changed configuration never loses a device. Deleted rows stay (hidden) as Cinder
# soft-deletes: `held` says the device is still there because COW clones read through it, and
# the last clone's removal collects it (services/volumes/graph.py).

class VolumeType(Base):
    __tablename__ = "volume_types"
    id: Mapped[str] = mapped_column(String(36), primary_key=True,
                                    default=lambda: str(uuid.uuid4()))
    name: Mapped[str] = mapped_column(String(255), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    extra_specs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Volume(Base):
    __tablename__ = "volumes"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32), default="creating", index=True)
    size: Mapped[int] = mapped_column(Integer)  # GiB, as Cinder
    # no foreign key: a type can be deleted once no live volume uses it (deleted rows stay)
    volume_type_id: Mapped[str] = mapped_column(String(36))
    backend: Mapped[str] = mapped_column(String(255))  # the volume_backends target's name
    cluster: Mapped[str] = mapped_column(String(255))
    pool: Mapped[str] = mapped_column(String(255))
    availability_zone: Mapped[str] = mapped_column(String(255))
    bootable: Mapped[bool] = mapped_column(Boolean, default=False)
    snapshot_id: Mapped[str | None] = mapped_column(String(36))
    source_volid: Mapped[str | None] = mapped_column(String(36))
    image_id: Mapped[str | None] = mapped_column(String(36))
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    image_meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    message: Mapped[str] = mapped_column(Text, default="")  # why it is in error
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    held: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column()
    # attachments (migration 0009): Cinder's attach_status (detached, reserved, attaching,
    # attached, detaching), migration_status (None unless migrating or reset by an admin),
    # multiattach (the type's `multiattach="<is> True"` at creation), and the status to go
    # back to once an upload to an image ends (available or in-use)
    attach_status: Mapped[str] = mapped_column(String(32), default="detached",
                                               server_default="detached")
    migration_status: Mapped[str | None] = mapped_column(String(32))
    multiattach: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    previous_status: Mapped[str | None] = mapped_column(String(32))


class VolumeSnapshot(Base):
    """Device snapshot `snapshot-<id>` of its volume's device."""

    __tablename__ = "volume_snapshots"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(String(64))
    volume_id: Mapped[str] = mapped_column(ForeignKey("volumes.id"), index=True)
    status: Mapped[str] = mapped_column(String(32), default="creating", index=True)
    size: Mapped[int] = mapped_column(Integer)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # what os-update_snapshot_status last said ("80%"); None: known from the status
    progress: Mapped[str | None] = mapped_column(String(255))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column()


# --- volume attachments (Cinder's volume_attachment) -----------------------------------------
# One row per attachment of a volume to a server (instance_uuid) or a host; the row is removed
# when the attachment is deleted (the volume goes back to available when none is left).

class VolumeAttachment(Base):
    __tablename__ = "volume_attachments"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    volume_id: Mapped[str] = mapped_column(ForeignKey("volumes.id"), index=True)
    project_id: Mapped[str] = mapped_column(String(64), index=True)  # the volume's
    instance_uuid: Mapped[str | None] = mapped_column(String(36), index=True)
    attached_host: Mapped[str | None] = mapped_column(String(255))
    mountpoint: Mapped[str | None] = mapped_column(String(255))
    # reserved, attaching, attached, detaching, error_attaching, error_detaching
    attach_status: Mapped[str] = mapped_column(String(32), default="reserved", index=True)
    attach_mode: Mapped[str] = mapped_column(String(8), default="null")  # rw, ro, null
    connector: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    connection_info: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attach_time: Mapped[datetime | None] = mapped_column()
    detach_time: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# --- volume backups (Cinder's /backups) ------------------------------------------------------
# A full backup is device `volume-<volume>.backup.<backup>` (`base`) in its target's pool, as
# Cinder's Ceph backup driver names it; each backup of that chain (the full one, then its
# incrementals) is a protected snapshot `backup.<backup>.snap.<ts>` (`snap`) of that device,
# and `source_snap` is the snapshot of the volume's device holding the same point in time, from
# which the next incremental's changed extents are counted.

class VolumeBackup(Base):
    __tablename__ = "volume_backups"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(String(64))
    # no foreign key: a backup outlives its volume
    volume_id: Mapped[str] = mapped_column(String(36), index=True)
    snapshot_id: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(32), default="creating", index=True)
    size: Mapped[int] = mapped_column(Integer)  # GiB: the volume's size at backup time
    target: Mapped[str] = mapped_column(String(255))  # the backup_targets entry (`container`)
    cluster: Mapped[str] = mapped_column(String(255))
    pool: Mapped[str] = mapped_column(String(255))
    availability_zone: Mapped[str] = mapped_column(String(255))
    base: Mapped[str] = mapped_column(String(255))
    snap: Mapped[str] = mapped_column(String(255))
    source_snap: Mapped[str | None] = mapped_column(String(255))
    parent_id: Mapped[str | None] = mapped_column(String(36), index=True)
    is_incremental: Mapped[bool] = mapped_column(Boolean, default=False)
    object_count: Mapped[int] = mapped_column(Integer, default=0)
    data_timestamp: Mapped[datetime] = mapped_column(default=utcnow)
    fail_reason: Mapped[str | None] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column()


# --- volume operations: quotas, type access (services/volumes/quotas.py, type_access.py) -----

class VolumeQuota(Base):
    """A project's own limit for one quota resource (volumes, gigabytes...); without a row the
    [volume] quota_<resource> default applies. Deleting the project's rows resets them."""

    __tablename__ = "volume_quotas"
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)


class VolumeQuotaLock(Base):
    """One row per project, updated first in every transaction that checks and then consumes
    the project's quota: two concurrent creates queue on it (a row lock on PostgreSQL, the
    write lock on SQLite) instead of both counting the same usage."""

    __tablename__ = "volume_quota_locks"
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    serial: Mapped[int] = mapped_column(Integer, default=0)


class VolumeTypeProject(Base):
    """A project allowed to use a private volume type (Cinder's volume_type_projects)."""

    __tablename__ = "volume_type_projects"
    volume_type_id: Mapped[str] = mapped_column(
        ForeignKey("volume_types.id", ondelete="CASCADE"), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(64), primary_key=True)


# --- compute (Nova's Compute API v2.1) ------------------------------------------------------
# Flavors, aggregates and server groups are the API's own records; a compute host is what an
# agent registered (one row per hypervisor host, whatever number of ephemeral backends it
# reaches: its CPU and RAM are counted once), its backends one row each. Servers keep a copy of
# their flavor (as Nova's instance.flavor) so a flavor deleted later never changes them.

class Flavor(Base):
    __tablename__ = "flavors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flavorid: Mapped[str] = mapped_column(String(255), unique=True)  # the API's id
    name: Mapped[str] = mapped_column(String(255), unique=True)
    memory_mb: Mapped[int] = mapped_column(Integer)
    vcpus: Mapped[int] = mapped_column(Integer)
    root_gb: Mapped[int] = mapped_column(Integer, default=0)
    ephemeral_gb: Mapped[int] = mapped_column(Integer, default=0)
    swap: Mapped[int] = mapped_column(Integer, default=0)  # MiB
    rxtx_factor: Mapped[float] = mapped_column(default=1.0)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    extra_specs: Mapped[list[FlavorExtraSpec]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin")
    projects: Mapped[list[FlavorProject]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin")


class FlavorExtraSpec(Base):
    __tablename__ = "flavor_extra_specs"
    flavor_id: Mapped[int] = mapped_column(ForeignKey("flavors.id", ondelete="CASCADE"),
                                           primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class FlavorProject(Base):
    """A project that may use a private flavor (os-flavor-access)."""

    __tablename__ = "flavor_projects"
    flavor_id: Mapped[int] = mapped_column(ForeignKey("flavors.id", ondelete="CASCADE"),
                                           primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)


class Aggregate(Base):
    """A host aggregate; its availability zone is its metadata key `availability_zone`, as in
    Nova."""

    __tablename__ = "aggregates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True,
                                      default=lambda: str(uuid.uuid4()))
    name: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    hosts: Mapped[list[AggregateHost]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin",
        order_by="AggregateHost.host")
    metadata_items: Mapped[list[AggregateMetadata]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin")


class AggregateHost(Base):
    __tablename__ = "aggregate_hosts"
    aggregate_id: Mapped[int] = mapped_column(ForeignKey("aggregates.id", ondelete="CASCADE"),
                                              primary_key=True)
    host: Mapped[str] = mapped_column(String(255), primary_key=True, index=True)


class AggregateMetadata(Base):
    __tablename__ = "aggregate_metadata"
    aggregate_id: Mapped[int] = mapped_column(ForeignKey("aggregates.id", ondelete="CASCADE"),
                                              primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class ComputeHost(Base):
    """A hypervisor host as its agent registered it: Nova's compute service and compute node in
    one row. `session` is the registering agent's; another agent may take the name over only
    once this one stopped heartbeating."""

    __tablename__ = "compute_hosts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True,
                                      default=lambda: str(uuid.uuid4()))
    host: Mapped[str] = mapped_column(String(255), unique=True)
    site: Mapped[str] = mapped_column(String(255))
    hypervisor_type: Mapped[str] = mapped_column(String(64))
    host_ip: Mapped[str] = mapped_column(String(64), default="")
    vcpus: Mapped[int] = mapped_column(Integer)
    memory_mb: Mapped[int] = mapped_column(Integer)
    cpu_info: Mapped[dict[str, Any]] = mapped_column(default=dict)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_reason: Mapped[str | None] = mapped_column(String(255))
    forced_down: Mapped[bool] = mapped_column(Boolean, default=False)
    session: Mapped[str] = mapped_column(String(64))
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    backends: Mapped[list[HostBackend]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin",
        order_by="HostBackend.position")


class HostBackend(Base):
    """An ephemeral backend a host reaches: (cluster id, pool) names the storage, so a pool
    that several hosts reach is one pool in every sum."""

    __tablename__ = "host_backends"
    host_id: Mapped[int] = mapped_column(ForeignKey("compute_hosts.id", ondelete="CASCADE"),
                                         primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # rbd, local
    cluster_id: Mapped[str] = mapped_column(String(255))
    pool: Mapped[str] = mapped_column(String(255))
    total_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    free_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    position: Mapped[int] = mapped_column(Integer, default=0)  # 0: the host's default


class Server(Base):
    """An instance. Its root disk is `<id>_disk` in `pool` of the backend named; `host` is
    where it runs (None before scheduling or when it failed to schedule)."""

    __tablename__ = "servers"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(String(64))
    vm_state: Mapped[str] = mapped_column(String(32), default="building", index=True)
    task_state: Mapped[str | None] = mapped_column(String(32))
    power_state: Mapped[int] = mapped_column(Integer, default=0)
    flavor: Mapped[dict[str, Any]] = mapped_column(default=dict)
    image_id: Mapped[str | None] = mapped_column(String(36), index=True)
    host: Mapped[str | None] = mapped_column(String(255), index=True)
    availability_zone: Mapped[str | None] = mapped_column(String(255))
    requested_zone: Mapped[str | None] = mapped_column(String(255))
    backend: Mapped[str | None] = mapped_column(String(255))
    cluster_id: Mapped[str | None] = mapped_column(String(255))
    pool: Mapped[str | None] = mapped_column(String(255))
    nic: Mapped[str] = mapped_column(String(16), default="none")
    key_name: Mapped[str | None] = mapped_column(String(255))
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    hints: Mapped[dict[str, Any]] = mapped_column(default=dict)
    fault: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    group_id: Mapped[str | None] = mapped_column(String(36), index=True)
    # what was done to it beyond its own requests (evacuations, with the fencing they did)
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    launched_at: Mapped[datetime | None] = mapped_column()
    deleted_at: Mapped[datetime | None] = mapped_column()


class ServerGroup(Base):
    __tablename__ = "server_groups"
    id: Mapped[str] = mapped_column(String(36), primary_key=True,
                                    default=lambda: str(uuid.uuid4()))
    name: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[str] = mapped_column(String(64))
    policy: Mapped[str] = mapped_column(String(32))  # affinity, anti-affinity, soft-...
    rules: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AgentWork(Base):
    """Work for one host's agent: the agent long-polls for its pending items, leases one, and
    reports its outcome. Rows are the queue, so any API process can hand work out."""

    __tablename__ = "agent_work"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    host: Mapped[str] = mapped_column(String(255), index=True)
    server_id: Mapped[str | None] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    lease_until: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class KeyPair(Base):
    """An SSH public key a user may name at boot (os-keypairs); a user's names are unique."""

    __tablename__ = "key_pairs"
    __table_args__ = (UniqueConstraint("user_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(16), default="ssh")
    public_key: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# ---------------------------------------------------------------- compute: volumes of servers


class ServerVolume(Base):
    """A volume a server has, as Nova's block_device_mapping row: the volume service's
    attachment that backs it, the guest's device name, and its state on the host
    (attaching -> attached -> detaching; the row goes when the volume is detached)."""

    __tablename__ = "server_volumes"
    __table_args__ = (UniqueConstraint("server_id", "volume_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    server_id: Mapped[str] = mapped_column(String(36), index=True)
    volume_id: Mapped[str] = mapped_column(String(36), index=True)
    attachment_id: Mapped[str | None] = mapped_column(String(36))
    # the id of the volume's Ceph cluster (or local store): the agent opens it with its own
    # user for that cluster
    cluster_id: Mapped[str | None] = mapped_column(String(255))
    device: Mapped[str] = mapped_column(String(64))
    tag: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="attaching")
    delete_on_termination: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
