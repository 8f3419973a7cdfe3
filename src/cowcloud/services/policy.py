"""Who may do what: every authorization rule of cowcloud, in one table.

Roles are admin, member and reader; admin implies member and member implies reader (tokens carry
the implied roles too, as Keystone's bootstrap sets them up), so `reader` below also admits members
and admins. A rule is a predicate over (RequestContext, target), where the target is a dict that
describes the thing acted on. Target keys, per family:

- identity:*  user_id (the user acted on, or the subject of a token), project_id, domain_id,
              group_id
- image:*     owner (project id owning the image; for add_image, the owner asked for, or absent),
              visibility (public, community, shared, private),
              members (project ids the image is shared with that may see it: Glance lets a member
              GET a shared image whatever its member status; lists show accepted ones),
              member_id (for the member calls: the member project acted on)

Services call `enforce(ctx, "image:get_image", target)`; it raises PolicyDenied (403 at the API).
A rule name missing from the table is a programming error and raises KeyError, never "allow".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .context import RequestContext
from .errors import Denied

Target = Mapping[str, Any]
Predicate = Callable[[RequestContext, Target], bool]


class PolicyDenied(Denied):
    """The rule said no; rendered as 403 in the calling service's error shape."""

    def __init__(self, rule: str) -> None:
        super().__init__(f"You are not authorized to perform the requested action: {rule}.")
        self.rule = rule


# --- building blocks -------------------------------------------------------------------------

def authenticated(ctx: RequestContext, t: Target) -> bool:
    return True


def admin(ctx: RequestContext, t: Target) -> bool:
    return ctx.is_admin


def member(ctx: RequestContext, t: Target) -> bool:
    return ctx.project_id is not None and ctx.can_write


def reader(ctx: RequestContext, t: Target) -> bool:
    return ctx.project_id is not None and bool({"reader", "member", "admin"} & set(ctx.roles))


def self_user(ctx: RequestContext, t: Target) -> bool:
    return t.get("user_id") == ctx.user_id


def own_project(ctx: RequestContext, t: Target) -> bool:
    return ctx.project_id is not None and t.get("project_id") == ctx.project_id


def own_domain(ctx: RequestContext, t: Target) -> bool:
    return ctx.domain_id is not None and t.get("domain_id") == ctx.domain_id


def project_domain(ctx: RequestContext, t: Target) -> bool:
    """The target is the domain of the token's project (Keystone's token.project.domain.id)."""
    return ctx.project_domain_id is not None and t.get("domain_id") == ctx.project_domain_id


def owner(ctx: RequestContext, t: Target) -> bool:
    return ctx.project_id is not None and t.get("owner") == ctx.project_id


def owner_unset_or_own(ctx: RequestContext, t: Target) -> bool:
    return t.get("owner") in (None, ctx.project_id)


def visible_to_all(ctx: RequestContext, t: Target) -> bool:
    return t.get("visibility") in ("public", "community")


def shared_with(ctx: RequestContext, t: Target) -> bool:
    return (t.get("visibility") == "shared" and ctx.project_id is not None
            and ctx.project_id in (t.get("members") or ()))


def is_member_project(ctx: RequestContext, t: Target) -> bool:
    return ctx.project_id is not None and t.get("member_id") == ctx.project_id


def any_of(*preds: Predicate) -> Predicate:
    return lambda ctx, t: any(p(ctx, t) for p in preds)


def all_of(*preds: Predicate) -> Predicate:
    return lambda ctx, t: all(p(ctx, t) for p in preds)


admin_or_self = any_of(admin, self_user)
owning_member = any_of(admin, all_of(member, owner))
can_see_image = any_of(admin, all_of(reader, any_of(owner, visible_to_all, shared_with)))
# Glance's ADMIN_OR_PROJECT_READER_GET_NAMESPACE (metadef namespaces are public or private)
can_see_namespace = any_of(admin, all_of(reader, any_of(owner, visible_to_all)))

# --- the table -------------------------------------------------------------------------------

RULES: dict[str, Predicate] = {
    # tokens and the caller's own view
    "identity:validate_token": admin_or_self,
    "identity:check_token": admin_or_self,
    "identity:revoke_token": admin_or_self,
    "identity:get_auth_catalog": authenticated,
    "identity:get_auth_projects": authenticated,
    "identity:get_auth_domains": authenticated,
    # domains, projects, users, roles, assignments
    "identity:list_domains": admin,
    # any token scoped to the domain or to one of its projects may read it, as in Keystone
    "identity:get_domain": any_of(admin, own_domain, project_domain),
    "identity:create_domain": admin,
    "identity:update_domain": admin,
    "identity:delete_domain": admin,
    "identity:list_projects": admin,
    "identity:get_project": any_of(admin, own_project),
    "identity:create_project": admin,
    "identity:update_project": admin,
    "identity:delete_project": admin,
    "identity:list_user_projects": admin_or_self,
    "identity:list_users": admin,
    "identity:get_user": admin_or_self,
    "identity:create_user": admin,
    "identity:update_user": admin,
    "identity:delete_user": admin,
    "identity:change_password": self_user,
    # groups: admin only, except that a user may list their own groups (Keystone's default)
    "identity:list_groups": admin,
    "identity:get_group": admin,
    "identity:create_group": admin,
    "identity:update_group": admin,
    "identity:delete_group": admin,
    "identity:list_users_in_group": admin,
    "identity:add_user_to_group": admin,
    "identity:remove_user_from_group": admin,
    "identity:check_user_in_group": admin,
    "identity:list_groups_for_user": admin_or_self,
    "identity:list_roles": admin,
    "identity:get_role": admin,
    "identity:create_role": admin,
    "identity:update_role": admin,
    "identity:delete_role": admin,
    "identity:list_role_assignments": admin,
    "identity:list_grants": admin,
    "identity:check_grant": admin,
    "identity:create_grant": admin,
    "identity:revoke_grant": admin,
    # the catalog as resources
    "identity:list_services": admin,
    "identity:get_service": admin,
    "identity:list_endpoints": admin,
    "identity:get_endpoint": admin,
    "identity:list_regions": authenticated,
    "identity:get_region": authenticated,
    # application credentials: created by their user only (as Keystone), read by admin too
    "identity:create_application_credential": self_user,
    "identity:list_application_credentials": admin_or_self,
    "identity:get_application_credential": admin_or_self,
    "identity:delete_application_credential": admin_or_self,
    "identity:list_access_rules": admin_or_self,
    # images (targets: owner, visibility, members, member_id)
    "image:get_images": reader,
    "image:get_image": can_see_image,
    "image:download_image": can_see_image,
    "image:add_image": any_of(admin, all_of(member, owner_unset_or_own)),
    "image:modify_image": owning_member,
    "image:upload_image": owning_member,
    "image:import_image": owning_member,
    "image:delete_image": owning_member,
    "image:deactivate": owning_member,
    "image:reactivate": owning_member,
    "image:add_tag": owning_member,
    "image:delete_tag": owning_member,
    "image:publicize_image": admin,
    "image:communitize_image": owning_member,
    "image:copy_image": admin,
    "image:get_image_location": owning_member,
    "image:set_image_location": owning_member,
    "image:delete_image_location": owning_member,
    "image:add_member": owning_member,
    "image:delete_member": owning_member,
    "image:get_members": any_of(admin, all_of(reader, any_of(owner, is_member_project))),
    "image:get_member": any_of(admin, all_of(reader, any_of(owner, is_member_project))),
    "image:modify_member": any_of(admin, all_of(member, is_member_project)),
    "image:info_stores": reader,
    "image:get_store_detail": admin,
    "image:info_stores_detail": admin,
    "image:get_task": admin,
    "image:get_tasks": admin,
    "image:add_task": admin,  # Glance's tasks_api_access: the tasks API is for admins
    # metadata definitions (glance/policies/metadef.py): reads follow the namespace's
    # visibility (target: its owner and visibility; for lists, the caller's project), every
    # write is metadef_admin
    "image:get_metadef_namespaces": any_of(admin, reader),
    "image:get_metadef_namespace": can_see_namespace,
    "image:add_metadef_namespace": admin,
    "image:modify_metadef_namespace": admin,
    "image:delete_metadef_namespace": admin,
    "image:get_metadef_objects": can_see_namespace,
    "image:get_metadef_object": can_see_namespace,
    "image:add_metadef_object": admin,
    "image:modify_metadef_object": admin,
    "image:delete_metadef_object": admin,
    "image:get_metadef_properties": can_see_namespace,
    "image:get_metadef_property": can_see_namespace,
    "image:add_metadef_property": admin,
    "image:modify_metadef_property": admin,
    "image:remove_metadef_property": admin,
    "image:get_metadef_tags": can_see_namespace,
    "image:get_metadef_tag": can_see_namespace,
    "image:add_metadef_tag": admin,
    "image:add_metadef_tags": admin,
    "image:modify_metadef_tag": admin,
    "image:delete_metadef_tag": admin,
    "image:delete_metadef_tags": admin,
    "image:list_metadef_resource_types": can_see_namespace,
    "image:get_metadef_resource_type": can_see_namespace,
    "image:add_metadef_resource_type_association": admin,
    "image:remove_metadef_resource_type_association": admin,
    # the Block Storage deployment's own description (services/volumes/inventory.py), as
    # Cinder's defaults: zones, extensions and messages for every reader, the rest admins'
    "volume_extension:availability_zone_list": reader,
    "volume_extension:services:index": admin,
    "volume_extension:services:update": admin,
    "volume_extension:hosts": admin,
    "volume_extension:capabilities": admin,
    "scheduler_extension:scheduler_stats:get_pools": admin,
    "message:get_all": reader,
    "message:get": reader,
    # a volume's image metadata (services/volumes/image_metadata.py), like its own metadata
    "volume_extension:volume_image_metadata:show": any_of(admin, all_of(reader, own_project)),
    "volume_extension:volume_image_metadata:set": any_of(admin, all_of(member, own_project)),
    "volume_extension:volume_image_metadata:remove": any_of(admin,
                                                            all_of(member, own_project)),
    # volumes and their snapshots (target: project_id), Cinder's project-scoped defaults
    "volume:create": member,
    "volume:get": any_of(admin, all_of(reader, own_project)),
    "volume:get_all": reader,
    "volume:update": any_of(admin, all_of(member, own_project)),
    "volume:delete": any_of(admin, all_of(member, own_project)),
    "volume:extend": any_of(admin, all_of(member, own_project)),
    "volume:get_volume_metadata": any_of(admin, all_of(reader, own_project)),
    "volume:update_volume_metadata": any_of(admin, all_of(member, own_project)),
    "volume:delete_volume_metadata": any_of(admin, all_of(member, own_project)),
    "volume:create_snapshot": any_of(admin, all_of(member, own_project)),
    "volume:get_snapshot": any_of(admin, all_of(reader, own_project)),
    "volume:get_all_snapshots": reader,
    "volume:update_snapshot": any_of(admin, all_of(member, own_project)),
    "volume:delete_snapshot": any_of(admin, all_of(member, own_project)),
    # volume types: everyone reads the public ones, admins manage them and their extra specs
    "volume_extension:type_get": reader,
    "volume_extension:type_get_all": reader,
    "volume_extension:types_manage": admin,
    # volume attachments, the legacy attach actions, upload to image, admin actions
    "volume:attachment_create": any_of(admin, all_of(member, own_project)),
    "volume:attachment_update": any_of(admin, all_of(member, own_project)),
    "volume:attachment_delete": any_of(admin, all_of(member, own_project)),
    "volume:attachment_complete": any_of(admin, all_of(member, own_project)),
    "volume:attachment_get": any_of(admin, all_of(reader, own_project)),
    "volume_extension:volume_actions:reserve": any_of(admin, all_of(member, own_project)),
    "volume_extension:volume_actions:unreserve": any_of(admin, all_of(member, own_project)),
    "volume_extension:volume_actions:begin_detaching": any_of(admin,
                                                              all_of(member, own_project)),
    "volume_extension:volume_actions:roll_detaching": any_of(admin,
                                                             all_of(member, own_project)),
    "volume_extension:volume_actions:attach": any_of(admin, all_of(member, own_project)),
    "volume_extension:volume_actions:detach": any_of(admin, all_of(member, own_project)),
    "volume_extension:volume_actions:initialize_connection": any_of(
        admin, all_of(member, own_project)),
    "volume_extension:volume_actions:terminate_connection": any_of(
        admin, all_of(member, own_project)),
    "volume_extension:volume_actions:upload_image": any_of(admin, all_of(member, own_project)),
    "volume_extension:volume_actions:upload_public": admin,
    "volume_extension:volume_admin_actions:reset_status": admin,
    "volume_extension:volume_admin_actions:force_delete": admin,
    "volume_extension:snapshot_admin_actions:reset_status": admin,
    "volume_extension:snapshot_admin_actions:force_delete": admin,
    "snapshot_extension:snapshot_actions:update_snapshot_status": any_of(
        admin, all_of(member, own_project)),
    # volume backups (cinder/policies/backups.py: project members, admins reset status)
    "backup:create": any_of(admin, all_of(member, own_project)),
    "backup:get": any_of(admin, all_of(reader, own_project)),
    "backup:get_all": reader,
    "backup:update": any_of(admin, all_of(member, own_project)),
    "backup:delete": any_of(admin, all_of(member, own_project)),
    "backup:restore": any_of(admin, all_of(member, own_project)),
    "volume_extension:backup_admin_actions:reset_status": admin,
    # volume operations (services/volumes: quotas, migration, type access, snapshot metadata)
    "volume_extension:quotas:show": any_of(admin, all_of(reader, own_project)),
    "volume_extension:quotas:update": admin,
    "volume_extension:quotas:delete": admin,
    "volume_extension:quota_classes": admin,
    "limits_extension:used_limits": reader,
    "volume:retype": any_of(admin, all_of(member, own_project)),
    "volume_extension:volume_admin_actions:migrate_volume": admin,
    "volume_extension:volume_type_access": any_of(admin, all_of(reader, own_project)),
    "volume_extension:volume_type_access:addProjectAccess": admin,
    "volume_extension:volume_type_access:removeProjectAccess": admin,
    "volume:get_snapshot_metadata": any_of(admin, all_of(reader, own_project)),
    "volume:update_snapshot_metadata": any_of(admin, all_of(member, own_project)),
    "volume:delete_snapshot_metadata": any_of(admin, all_of(member, own_project)),
    # compute (Nova's defaults): flavors are read by everyone, managed by admins; aggregates,
    # services and hypervisors are admin-only; the agents' channel is for the service user
    "compute:flavor:get": authenticated,
    "compute:flavor:list": authenticated,
    "compute:flavor:manage": admin,
    "compute:flavor:access": admin,
    "compute:aggregates": admin,
    "compute:services": admin,
    "compute:hypervisors": admin,
    "compute:zones": authenticated,
    "compute:zones:detail": admin,
    "compute:agent": admin,
    "compute:keypairs": authenticated,
    "compute:limits": reader,
    "compute:server_groups:create": member,
    "compute:server_groups:get": reader,
    "compute:server_groups:delete": member,
    "compute:servers:create": member,
    "compute:servers:list": reader,
    "compute:servers:get": any_of(admin, all_of(reader, own_project)),
    "compute:servers:action": any_of(admin, all_of(member, own_project)),
    "compute:servers:delete": any_of(admin, all_of(member, own_project)),
    "compute:servers:console": any_of(admin, all_of(member, own_project)),
    "compute:servers:update": any_of(admin, all_of(member, own_project)),
    "compute:servers:rebuild": any_of(admin, all_of(member, own_project)),
    "compute:servers:evacuate": admin,
}


def allowed(ctx: RequestContext, rule: str, target: Target | None = None) -> bool:
    return RULES[rule](ctx, target or {})


def enforce(ctx: RequestContext, rule: str, target: Target | None = None) -> None:
    if not allowed(ctx, rule, target):
        raise PolicyDenied(rule)
