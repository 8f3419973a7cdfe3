"""The policy table, row by row: (rule, who, target) -> allowed."""

from __future__ import annotations

from typing import Any

import pytest

from cowcloud.services.context import RequestContext
from cowcloud.services.policy import RULES, PolicyDenied, allowed, enforce


def ctx(name: str, project: str | None, *roles: str, domain: str | None = None) -> RequestContext:
    return RequestContext(user_id=f"u-{name}", user_name=name, project_id=project,
                          project_name=project, domain_id=domain, roles=roles)


ADMIN = ctx("admin", "p-admin", "admin", "member", "reader")
MEMBER = ctx("member", "p-m", "member", "reader")
READER = ctx("reader", "p-m", "reader")
OTHER = ctx("other", "p-o", "member", "reader")
UNSCOPED = ctx("nobody", None)
DOMAIN_READER = ctx("dom", None, "reader", domain="d1")
IN_D1 = RequestContext(user_id="u-in-d1", user_name="in-d1", project_id="p-d1",
                       project_name="p-d1", domain_id=None, roles=("reader",),
                       project_domain_id="d1")

OWN = {"owner": "p-m", "visibility": "private", "members": []}
FOREIGN = {"owner": "p-o", "visibility": "private", "members": []}

ROWS: list[tuple[str, RequestContext, dict[str, Any], bool]] = [
    # identity: admin-only lists and writes
    ("identity:list_projects", ADMIN, {}, True),
    ("identity:list_projects", MEMBER, {}, False),
    ("identity:create_project", ADMIN, {}, True),
    ("identity:create_project", MEMBER, {}, False),
    ("identity:update_project", MEMBER, {"project_id": "p-m"}, False),
    ("identity:delete_project", ADMIN, {"project_id": "p-m"}, True),
    ("identity:list_users", ADMIN, {}, True),
    ("identity:list_users", MEMBER, {}, False),
    ("identity:create_user", MEMBER, {}, False),
    ("identity:update_user", MEMBER, {"user_id": "u-member"}, False),
    ("identity:delete_user", ADMIN, {"user_id": "u-member"}, True),
    ("identity:change_password", MEMBER, {"user_id": "u-member"}, True),
    ("identity:change_password", ADMIN, {"user_id": "u-member"}, False),
    ("identity:list_groups", ADMIN, {}, True),
    ("identity:list_groups", MEMBER, {}, False),
    ("identity:get_group", ADMIN, {"group_id": "g1"}, True),
    ("identity:get_group", MEMBER, {"group_id": "g1"}, False),
    ("identity:create_group", ADMIN, {}, True),
    ("identity:create_group", MEMBER, {}, False),
    ("identity:update_group", MEMBER, {"group_id": "g1"}, False),
    ("identity:delete_group", ADMIN, {"group_id": "g1"}, True),
    ("identity:delete_group", DOMAIN_READER, {"group_id": "g1"}, False),
    ("identity:list_users_in_group", ADMIN, {"group_id": "g1"}, True),
    ("identity:list_users_in_group", MEMBER, {"group_id": "g1"}, False),
    ("identity:add_user_to_group", ADMIN, {"group_id": "g1", "user_id": "u-member"}, True),
    ("identity:add_user_to_group", MEMBER, {"group_id": "g1", "user_id": "u-member"}, False),
    ("identity:remove_user_from_group", MEMBER, {"group_id": "g1", "user_id": "u-member"},
     False),
    ("identity:check_user_in_group", ADMIN, {"group_id": "g1", "user_id": "u-member"}, True),
    ("identity:check_user_in_group", MEMBER, {"group_id": "g1", "user_id": "u-member"}, False),
    ("identity:list_groups_for_user", MEMBER, {"user_id": "u-member"}, True),
    ("identity:list_groups_for_user", MEMBER, {"user_id": "u-other"}, False),
    ("identity:list_groups_for_user", ADMIN, {"user_id": "u-other"}, True),
    ("identity:create_grant", MEMBER, {"project_id": "p-m", "group_id": "g1"}, False),
    ("identity:list_roles", ADMIN, {}, True),
    ("identity:list_roles", READER, {}, False),
    ("identity:get_role", MEMBER, {}, False),
    ("identity:create_role", MEMBER, {}, False),
    ("identity:update_role", ADMIN, {}, True),
    ("identity:update_role", MEMBER, {}, False),
    ("identity:delete_role", ADMIN, {}, True),
    ("identity:delete_role", MEMBER, {}, False),
    ("identity:list_role_assignments", ADMIN, {}, True),
    ("identity:list_role_assignments", MEMBER, {}, False),
    ("identity:create_grant", ADMIN, {"project_id": "p-m"}, True),
    ("identity:create_grant", MEMBER, {"project_id": "p-m"}, False),
    ("identity:revoke_grant", MEMBER, {"project_id": "p-m"}, False),
    ("identity:check_grant", MEMBER, {"project_id": "p-m"}, False),
    ("identity:list_grants", ADMIN, {"project_id": "p-m"}, True),
    ("identity:list_domains", ADMIN, {}, True),
    ("identity:list_domains", MEMBER, {}, False),
    ("identity:create_domain", ADMIN, {}, True),
    ("identity:create_domain", DOMAIN_READER, {}, False),
    ("identity:update_domain", ADMIN, {"domain_id": "d1"}, True),
    ("identity:update_domain", DOMAIN_READER, {"domain_id": "d1"}, False),
    ("identity:delete_domain", ADMIN, {"domain_id": "d1"}, True),
    ("identity:delete_domain", IN_D1, {"domain_id": "d1"}, False),
    ("identity:list_services", ADMIN, {}, True),
    ("identity:get_service", MEMBER, {}, False),
    ("identity:list_endpoints", MEMBER, {}, False),
    ("identity:get_endpoint", ADMIN, {}, True),
    # identity: own things
    ("identity:get_project", ADMIN, {"project_id": "p-m"}, True),
    ("identity:get_project", MEMBER, {"project_id": "p-m"}, True),
    ("identity:get_project", READER, {"project_id": "p-m"}, True),
    ("identity:get_project", MEMBER, {"project_id": "p-o"}, False),
    ("identity:get_project", UNSCOPED, {"project_id": None}, False),
    ("identity:get_user", MEMBER, {"user_id": "u-member"}, True),
    ("identity:get_user", MEMBER, {"user_id": "u-other"}, False),
    ("identity:get_user", ADMIN, {"user_id": "u-other"}, True),
    ("identity:list_user_projects", UNSCOPED, {"user_id": "u-nobody"}, True),
    ("identity:list_user_projects", MEMBER, {"user_id": "u-other"}, False),
    ("identity:get_domain", DOMAIN_READER, {"domain_id": "d1"}, True),
    ("identity:get_domain", DOMAIN_READER, {"domain_id": "d2"}, False),
    ("identity:get_domain", ADMIN, {"domain_id": "d2"}, True),
    ("identity:get_domain", IN_D1, {"domain_id": "d1"}, True),  # its project's domain
    ("identity:get_domain", IN_D1, {"domain_id": "d2"}, False),
    ("identity:get_domain", UNSCOPED, {"domain_id": "d1"}, False),
    ("identity:validate_token", MEMBER, {"user_id": "u-member"}, True),
    ("identity:validate_token", MEMBER, {"user_id": "u-other"}, False),
    ("identity:validate_token", ADMIN, {"user_id": "u-other"}, True),
    ("identity:check_token", OTHER, {"user_id": "u-member"}, False),
    ("identity:revoke_token", UNSCOPED, {"user_id": "u-nobody"}, True),
    ("identity:revoke_token", MEMBER, {"user_id": "u-other"}, False),
    ("identity:get_auth_catalog", UNSCOPED, {}, True),
    ("identity:get_auth_projects", UNSCOPED, {}, True),
    ("identity:get_auth_domains", READER, {}, True),
    ("identity:list_regions", UNSCOPED, {}, True),
    ("identity:get_region", MEMBER, {}, True),
    ("identity:create_application_credential", MEMBER, {"user_id": "u-member"}, True),
    ("identity:create_application_credential", ADMIN, {"user_id": "u-member"}, False),
    ("identity:list_application_credentials", ADMIN, {"user_id": "u-member"}, True),
    ("identity:list_application_credentials", OTHER, {"user_id": "u-member"}, False),
    ("identity:get_application_credential", MEMBER, {"user_id": "u-member"}, True),
    ("identity:delete_application_credential", OTHER, {"user_id": "u-member"}, False),
    ("identity:list_access_rules", MEMBER, {"user_id": "u-member"}, True),
    ("identity:list_access_rules", ADMIN, {"user_id": "u-member"}, True),
    ("identity:list_access_rules", OTHER, {"user_id": "u-member"}, False),
    # image: seeing
    ("image:get_images", READER, {}, True),
    ("image:get_images", UNSCOPED, {}, False),
    ("image:get_image", MEMBER, OWN, True),
    ("image:get_image", READER, OWN, True),
    ("image:get_image", OTHER, OWN, False),
    ("image:get_image", ADMIN, FOREIGN, True),
    ("image:get_image", MEMBER, {**FOREIGN, "visibility": "public"}, True),
    ("image:get_image", MEMBER, {**FOREIGN, "visibility": "community"}, True),
    ("image:get_image", MEMBER, {**FOREIGN, "visibility": "shared", "members": ["p-m"]}, True),
    ("image:get_image", MEMBER, {**FOREIGN, "visibility": "shared", "members": ["p-x"]}, False),
    ("image:get_image", MEMBER, {**FOREIGN, "visibility": "private", "members": ["p-m"]}, False),
    ("image:get_image", UNSCOPED, {**FOREIGN, "visibility": "public"}, False),
    ("image:download_image", READER, {**FOREIGN, "visibility": "public"}, True),
    ("image:download_image", OTHER, OWN, False),
    # image: creating and changing
    ("image:add_image", MEMBER, {}, True),
    ("image:add_image", MEMBER, {"owner": "p-m"}, True),
    ("image:add_image", MEMBER, {"owner": "p-o"}, False),
    ("image:add_image", READER, {}, False),
    ("image:add_image", UNSCOPED, {}, False),
    ("image:add_image", ADMIN, {"owner": "p-o"}, True),
    ("image:modify_image", MEMBER, OWN, True),
    ("image:modify_image", READER, OWN, False),
    ("image:modify_image", OTHER, OWN, False),
    ("image:modify_image", ADMIN, OWN, True),
    ("image:upload_image", MEMBER, OWN, True),
    ("image:upload_image", OTHER, OWN, False),
    ("image:import_image", MEMBER, OWN, True),
    ("image:delete_image", MEMBER, OWN, True),
    ("image:delete_image", OTHER, {**OWN, "visibility": "public"}, False),
    ("image:deactivate", MEMBER, OWN, True),
    ("image:reactivate", READER, OWN, False),
    ("image:add_tag", MEMBER, OWN, True),
    ("image:delete_tag", OTHER, OWN, False),
    ("image:publicize_image", ADMIN, OWN, True),
    ("image:publicize_image", MEMBER, OWN, False),
    ("image:communitize_image", MEMBER, OWN, True),
    ("image:communitize_image", OTHER, OWN, False),
    ("image:copy_image", ADMIN, OWN, True),
    ("image:copy_image", MEMBER, OWN, False),
    ("image:get_image_location", MEMBER, OWN, True),
    ("image:set_image_location", OTHER, OWN, False),
    ("image:delete_image_location", ADMIN, OWN, True),
    # image: members
    ("image:add_member", MEMBER, OWN, True),
    ("image:add_member", OTHER, OWN, False),
    ("image:delete_member", MEMBER, OWN, True),
    ("image:get_members", READER, OWN, True),
    ("image:get_members", OTHER, {**OWN, "member_id": "p-o"}, True),
    ("image:get_members", OTHER, OWN, False),
    ("image:get_member", OTHER, {**OWN, "member_id": "p-o"}, True),
    ("image:modify_member", OTHER, {**OWN, "member_id": "p-o"}, True),
    ("image:modify_member", MEMBER, {**OWN, "member_id": "p-o"}, False),
    # image: stores and tasks
    ("image:info_stores", READER, {}, True),
    ("image:get_store_detail", ADMIN, {}, True),
    ("image:get_store_detail", MEMBER, {}, False),
    ("image:info_stores_detail", ADMIN, {}, True),
    ("image:info_stores_detail", MEMBER, {}, False),
    ("image:get_task", ADMIN, {}, True),
    ("image:get_tasks", MEMBER, {}, False),
    ("image:add_task", ADMIN, {}, True),
    ("image:add_task", MEMBER, {}, False),
    # image: metadata definitions (reads by the namespace's visibility, writes admin only)
    ("image:get_metadef_namespaces", READER, {"owner": "p-m"}, True),
    ("image:get_metadef_namespaces", UNSCOPED, {"owner": None}, False),
    ("image:get_metadef_namespaces", ADMIN, {"owner": "p-admin"}, True),
    ("image:get_metadef_namespace", READER, OWN, True),
    ("image:get_metadef_namespace", OTHER, OWN, False),
    ("image:get_metadef_namespace", OTHER, {**FOREIGN, "visibility": "public"}, True),
    ("image:get_metadef_namespace", UNSCOPED, {**FOREIGN, "visibility": "public"}, False),
    ("image:get_metadef_namespace", ADMIN, OWN, True),
    ("image:add_metadef_namespace", ADMIN, {"owner": "p-admin"}, True),
    ("image:add_metadef_namespace", MEMBER, {"owner": "p-m"}, False),
    ("image:modify_metadef_namespace", MEMBER, OWN, False),
    ("image:modify_metadef_namespace", ADMIN, OWN, True),
    ("image:delete_metadef_namespace", MEMBER, OWN, False),
    ("image:delete_metadef_namespace", ADMIN, {**FOREIGN, "visibility": "public"}, True),
    ("image:get_metadef_objects", OTHER, {**FOREIGN, "visibility": "public"}, True),
    ("image:get_metadef_objects", OTHER, OWN, False),
    ("image:get_metadef_object", READER, OWN, True),
    ("image:add_metadef_object", MEMBER, OWN, False),
    ("image:add_metadef_object", ADMIN, OWN, True),
    ("image:modify_metadef_object", MEMBER, {**FOREIGN, "visibility": "public"}, False),
    ("image:delete_metadef_object", ADMIN, {**FOREIGN, "visibility": "public"}, True),
    ("image:get_metadef_properties", OTHER, {**FOREIGN, "visibility": "public"}, True),
    ("image:get_metadef_property", OTHER, OWN, False),
    ("image:add_metadef_property", MEMBER, OWN, False),
    ("image:modify_metadef_property", ADMIN, OWN, True),
    ("image:remove_metadef_property", MEMBER, OWN, False),
    ("image:get_metadef_tags", READER, {**FOREIGN, "visibility": "public"}, True),
    ("image:get_metadef_tag", OTHER, OWN, False),
    ("image:add_metadef_tag", MEMBER, OWN, False),
    ("image:add_metadef_tags", ADMIN, OWN, True),
    ("image:add_metadef_tags", MEMBER, OWN, False),
    ("image:modify_metadef_tag", MEMBER, {**FOREIGN, "visibility": "public"}, False),
    ("image:delete_metadef_tag", ADMIN, OWN, True),
    ("image:delete_metadef_tags", MEMBER, OWN, False),
    ("image:list_metadef_resource_types", READER, {"owner": "p-m"}, True),
    ("image:list_metadef_resource_types", OTHER, OWN, False),
    ("image:get_metadef_resource_type", OTHER, {**FOREIGN, "visibility": "public"}, True),
    ("image:add_metadef_resource_type_association", MEMBER, OWN, False),
    ("image:add_metadef_resource_type_association", ADMIN, OWN, True),
    ("image:remove_metadef_resource_type_association", MEMBER, OWN, False),
    # the Block Storage deployment's description: zones and messages for readers, the rest
    # for admins
    *[(rule, who, {}, expected)
      for rule in ("volume_extension:availability_zone_list", "message:get_all", "message:get")
      for who, expected in ((READER, True), (UNSCOPED, False))],
    *[(rule, who, {}, expected)
      for rule in ("volume_extension:services:index", "volume_extension:services:update",
                   "volume_extension:hosts", "volume_extension:capabilities",
                   "scheduler_extension:scheduler_stats:get_pools")
      for who, expected in ((ADMIN, True), (MEMBER, False))],
    # volumes: the project's members write, its readers read, other projects nothing
    *[(rule, who, {"project_id": "p-m"}, expected)
      for rule in ("volume:update", "volume:delete", "volume:extend",
                   "volume:update_volume_metadata", "volume:delete_volume_metadata",
                   "volume:create_snapshot", "volume:update_snapshot", "volume:delete_snapshot")
      for who, expected in ((MEMBER, True), (READER, False), (OTHER, False), (ADMIN, True))],
    *[(rule, who, {"project_id": "p-m"}, expected)
      for rule in ("volume_extension:volume_image_metadata:set",
                   "volume_extension:volume_image_metadata:remove")
      for who, expected in ((MEMBER, True), (READER, False), (OTHER, False), (ADMIN, True))],
    # attachments and the attach actions: the project's members (a compute service acts as
    # admin); reading an attachment is a reader's; admin actions are an admin's
    *[(rule, who, {"project_id": "p-m"}, expected)
      for rule in ("volume:attachment_create", "volume:attachment_update",
                   "volume:attachment_delete", "volume:attachment_complete",
                   *(f"volume_extension:volume_actions:{a}" for a in (
                       "reserve", "unreserve", "begin_detaching", "roll_detaching", "attach",
                       "detach", "initialize_connection", "terminate_connection",
                       "upload_image")))
      for who, expected in ((MEMBER, True), (READER, False), (OTHER, False), (ADMIN, True))],
    ("volume:attachment_get", READER, {"project_id": "p-m"}, True),
    ("volume:attachment_get", OTHER, {"project_id": "p-m"}, False),
    *[(rule, who, {"project_id": "p-m"}, expected)
      for rule in ("volume_extension:volume_actions:upload_public",
                   "volume_extension:volume_admin_actions:reset_status",
                   "volume_extension:volume_admin_actions:force_delete",
                   "volume_extension:snapshot_admin_actions:reset_status",
                   "volume_extension:snapshot_admin_actions:force_delete")
      for who, expected in ((MEMBER, False), (ADMIN, True))],
    *[("snapshot_extension:snapshot_actions:update_snapshot_status", who, {"project_id": "p-m"},
       expected)
      for who, expected in ((MEMBER, True), (READER, False), (OTHER, False), (ADMIN, True))],
    # quotas, moves, type access, snapshot metadata
    *[(rule, who, {"project_id": "p-m"}, expected)
      for rule in ("volume_extension:quotas:show", "volume_extension:volume_type_access",
                   "volume:get_snapshot_metadata")
      for who, expected in ((READER, True), (OTHER, False), (ADMIN, True))],
    *[(rule, who, {"project_id": "p-m"}, expected)
      for rule in ("volume:retype", "volume:update_snapshot_metadata",
                   "volume:delete_snapshot_metadata")
      for who, expected in ((MEMBER, True), (READER, False), (OTHER, False), (ADMIN, True))],
    *[(rule, who, {"project_id": "p-m"}, expected)
      for rule in ("volume_extension:quotas:update", "volume_extension:quotas:delete",
                   "volume_extension:quota_classes",
                   "volume_extension:volume_admin_actions:migrate_volume",
                   "volume_extension:volume_type_access:addProjectAccess",
                   "volume_extension:volume_type_access:removeProjectAccess")
      for who, expected in ((MEMBER, False), (ADMIN, True))],
    ("limits_extension:used_limits", READER, {}, True),
    ("limits_extension:used_limits", UNSCOPED, {}, False),
    ("volume_extension:volume_image_metadata:show", READER, {"project_id": "p-m"}, True),
    ("volume_extension:volume_image_metadata:show", OTHER, {"project_id": "p-m"}, False),
    *[(rule, who, {"project_id": "p-m"}, expected)
      for rule in ("volume:get", "volume:get_volume_metadata", "volume:get_snapshot")
      for who, expected in ((READER, True), (OTHER, False), (ADMIN, True))],
    ("volume:create", MEMBER, {"project_id": "p-m"}, True),
    ("volume:create", READER, {"project_id": "p-m"}, False),
    ("volume:get_all", READER, {}, True),
    ("volume:get_all", UNSCOPED, {}, False),
    ("volume:get_all_snapshots", READER, {}, True),
    ("volume_extension:type_get", READER, {}, True),
    ("volume_extension:type_get_all", UNSCOPED, {}, False),
    ("volume_extension:types_manage", MEMBER, {}, False),
    ("volume_extension:types_manage", ADMIN, {}, True),
    # volume backups: as volumes; resetting a backup's status is an admin's
    *[(rule, who, {"project_id": "p-m"}, expected)
      for rule in ("backup:create", "backup:update", "backup:delete", "backup:restore")
      for who, expected in ((MEMBER, True), (READER, False), (OTHER, False), (ADMIN, True))],
    ("backup:get", READER, {"project_id": "p-m"}, True),
    ("backup:get", OTHER, {"project_id": "p-m"}, False),
    ("backup:get_all", READER, {}, True),
    ("backup:get_all", UNSCOPED, {}, False),
    ("volume_extension:backup_admin_actions:reset_status", MEMBER, {"project_id": "p-m"},
     False),
    ("volume_extension:backup_admin_actions:reset_status", ADMIN, {"project_id": "p-m"}, True),
    # compute: flavors and zones for everyone, host-level things for admins, servers by project
    ("compute:flavor:get", READER, {}, True),
    ("compute:flavor:list", UNSCOPED, {}, True),
    ("compute:flavor:manage", MEMBER, {}, False),
    ("compute:flavor:manage", ADMIN, {}, True),
    ("compute:flavor:access", MEMBER, {}, False),
    ("compute:aggregates", MEMBER, {}, False),
    ("compute:aggregates", ADMIN, {}, True),
    ("compute:services", MEMBER, {}, False),
    ("compute:hypervisors", MEMBER, {}, False),
    ("compute:hypervisors", ADMIN, {}, True),
    ("compute:zones", READER, {}, True),
    ("compute:zones:detail", MEMBER, {}, False),
    ("compute:agent", MEMBER, {}, False),
    ("compute:agent", ADMIN, {}, True),
    ("compute:keypairs", READER, {}, True),
    ("compute:limits", READER, {}, True),
    ("compute:limits", UNSCOPED, {}, False),
    ("compute:server_groups:create", MEMBER, {"project_id": "p-m"}, True),
    ("compute:server_groups:create", READER, {"project_id": "p-m"}, False),
    ("compute:server_groups:get", READER, {}, True),
    ("compute:server_groups:delete", READER, {}, False),
    ("compute:servers:create", MEMBER, {"project_id": "p-m"}, True),
    ("compute:servers:create", READER, {"project_id": "p-m"}, False),
    ("compute:servers:list", READER, {}, True),
    ("compute:servers:list", UNSCOPED, {}, False),
    ("compute:servers:get", READER, {"project_id": "p-m"}, True),
    ("compute:servers:get", OTHER, {"project_id": "p-m"}, False),
    ("compute:servers:action", READER, {"project_id": "p-m"}, False),
    ("compute:servers:action", MEMBER, {"project_id": "p-m"}, True),
    ("compute:servers:delete", OTHER, {"project_id": "p-m"}, False),
    ("compute:servers:console", MEMBER, {"project_id": "p-m"}, True),
    ("compute:servers:console", READER, {"project_id": "p-m"}, False),
    ("compute:servers:update", MEMBER, {"project_id": "p-m"}, True),
    ("compute:servers:update", OTHER, {"project_id": "p-m"}, False),
    ("compute:servers:rebuild", MEMBER, {"project_id": "p-m"}, True),
    ("compute:servers:rebuild", READER, {"project_id": "p-m"}, False),
    ("compute:servers:evacuate", MEMBER, {"project_id": "p-m"}, False),
    ("compute:servers:evacuate", ADMIN, {"project_id": "p-m"}, True),
    ("compute:servers:delete", ADMIN, {"project_id": "p-m"}, True),
]


@pytest.mark.parametrize(("rule", "who", "target", "expected"), ROWS,
                         ids=[f"{r}-{w.user_name}-{i}" for i, (r, w, _, _) in enumerate(ROWS)])
def test_rule(rule: str, who: RequestContext, target: dict[str, Any], expected: bool) -> None:
    assert allowed(who, rule, target) is expected


def test_every_rule_has_a_row() -> None:
    assert set(RULES) - {row[0] for row in ROWS} == set()


def test_enforce_raises_policy_denied_naming_the_rule() -> None:
    enforce(ADMIN, "identity:list_users")
    with pytest.raises(PolicyDenied, match="identity:list_users") as info:
        enforce(MEMBER, "identity:list_users")
    assert info.value.status == 403


def test_unknown_rule_is_an_error_not_an_allow() -> None:
    with pytest.raises(KeyError):
        enforce(ADMIN, "image:no_such_rule")
