"""Metadata definitions (/image/v2/metadefs) on a real server (its local stores: metadefs hold
no image data): httpx for the API as the api-ref describes it, then the real `openstack image
metadef ...` and `glance md-*` commands.

Every namespace a test makes is deleted by the `made` fixture (unprotected first), and every
refused request is followed by a look that shows it changed nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from server import RunningServer, openstack, openstack_json

from .helpers import Api, glance, unique

SEEDED = ["OS::Glance::Image", "OS::Cinder::Volume", "OS::Nova::Flavor", "OS::Nova::Aggregate",
          "OS::Nova::Server", "OS::Trove::Instance"]
NS = "/v2/metadefs/namespaces"


@pytest.fixture
def made(local_admin: Api) -> Iterator[list[str]]:
    """Names of namespaces to remove after the test, whatever state they are left in."""
    names: list[str] = []
    yield names
    for name in names:
        local_admin.put(f"{NS}/{name}", json={"namespace": name, "protected": False})
        local_admin.delete(f"{NS}/{name}")
        assert local_admin.get(f"{NS}/{name}").status_code == 404


def create_ns(admin: Api, made: list[str], **body: Any) -> dict[str, Any]:
    body.setdefault("namespace", unique("Test::NS"))
    made.append(body["namespace"])
    resp = admin.post(NS, json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


def names_listed(api: Api, **params: str) -> list[str]:
    resp = api.get(NS, params={"limit": "1000", **params})
    assert resp.status_code == 200, resp.text
    return [n["namespace"] for n in resp.json()["namespaces"]]


def error(resp: Any, status: int) -> str:
    """The message of a Glance-shaped error with this status."""
    assert resp.status_code == status, (resp.status_code, resp.text)
    body = resp.json()
    assert body["code"].startswith(str(status)) and body["title"], body
    return str(body["message"])


# ------------------------------------------------------------------------ schemas, types

def test_schemas_and_resource_types(local_admin: Api, local_alice) -> None:
    expected = {"namespace": "namespace", "namespaces": "namespaces", "object": "object",
                "objects": "objects", "property": "property", "properties": "properties",
                "tag": "tag", "tags": "tags", "resource_type": "resource_type_association",
                "resource_types": "resource_type_associations"}
    for path, name in expected.items():
        schema = local_alice.api.get(f"/v2/schemas/metadefs/{path}").json()  # readers may read them
        assert schema["name"] == name
    ns_schema = local_admin.get("/v2/schemas/metadefs/namespace").json()
    assert ns_schema["additionalProperties"] is False and ns_schema["required"] == ["namespace"]
    assert "property" in ns_schema["definitions"]
    assert "definitions" in local_admin.get("/v2/schemas/metadefs/namespaces").json()
    error(local_admin.get("/v2/schemas/metadefs/nothing"), 404)

    types = local_alice.api.get("/v2/metadefs/resource_types").json()["resource_types"]
    assert [t["name"] for t in types][:len(SEEDED)] == SEEDED
    assert set(types[0]) == {"name", "created_at", "updated_at"}


# ------------------------------------------------------------------------ namespaces

def test_namespace_with_contents(local_srv: RunningServer, local_admin: Api,
                                 made: list[str]) -> None:
    name = unique("OS::Test::Full")
    body = {
        "namespace": name, "display_name": "Full", "description": "everything at once",
        "visibility": "public", "protected": True,
        "resource_type_associations": [{"name": "OS::Glance::Image", "prefix": "hw_"},
                                       {"name": "OS::Nova::Flavor", "prefix": "hw:",
                                        "properties_target": "flavor"}],
        "properties": {"cpu_cores": {"title": "Cores", "type": "integer", "minimum": 1,
                                     "unknown": "dropped, as Glance drops it"}},
        "objects": [{"name": "CPU Limits", "required": ["period"], "properties": {
            "period": {"title": "Period", "type": "integer"}}}],
        "tags": [{"name": "t1"}, {"name": "t2"}],
    }
    made.append(name)
    resp = local_admin.post(NS, json=body)
    assert resp.status_code == 201, resp.text
    assert resp.headers["Location"] == f"{local_srv.url}/image{NS}/{name}"
    created = resp.json()
    assert created["owner"] == local_admin.project_id and created["protected"] is True
    assert created["self"] == f"{NS}/{name}"
    assert created["schema"] == "/v2/schemas/metadefs/namespace"
    assert created["created_at"].endswith("Z") and created["updated_at"].endswith("Z")

    shown = local_admin.get(f"{NS}/{name}").json()
    assert shown["properties"] == {"cpu_cores": {"title": "Cores", "type": "integer",
                                                 "minimum": 1}}
    assert [(a["name"], a.get("prefix")) for a in shown["resource_type_associations"]] == \
        [("OS::Glance::Image", "hw_"), ("OS::Nova::Flavor", "hw:")]
    (obj,) = shown["objects"]
    assert obj["name"] == "CPU Limits" and obj["self"] == f"{NS}/{name}/objects/CPU Limits"
    assert sorted(t["name"] for t in shown["tags"]) == ["t1", "t2"]
    assert "description" in shown and "display_name" in shown

    # ?resource_type= puts that association's prefix before every property name
    prefixed = local_admin.get(f"{NS}/{name}", params={"resource_type": "OS::Nova::Flavor"}).json()
    assert list(prefixed["properties"]) == ["hw:cpu_cores"]
    assert list(prefixed["objects"][0]["properties"]) == ["hw:period"]
    assert prefixed["objects"][0]["required"] == ["hw:period"]
    prop = local_admin.get(f"{NS}/{name}/properties/hw_cpu_cores",
                           params={"resource_type": "OS::Glance::Image"})
    assert prop.status_code == 200 and prop.json()["name"] == "cpu_cores"
    error(local_admin.get(f"{NS}/{name}/properties/cpu_cores",
                          params={"resource_type": "OS::Glance::Image"}), 404)

    # listed, with its associations; filters by resource type and visibility
    listed = {n["namespace"]: n for n in local_admin.get(NS, params={"limit": 1000}).json()[
        "namespaces"]}
    assert {a["name"] for a in listed[name]["resource_type_associations"]} == \
        {"OS::Glance::Image", "OS::Nova::Flavor"}
    assert "properties" not in listed[name] and "objects" not in listed[name]
    assert name in names_listed(local_admin, resource_types="OS::Nova::Flavor,OS::Nova::Server")
    assert name not in names_listed(local_admin, resource_types="OS::Cinder::Volume")
    assert name in names_listed(local_admin, visibility="public")
    assert name not in names_listed(local_admin, visibility="private")

    # protected: neither it nor anything in it may be deleted
    assert "protected" in error(local_admin.delete(f"{NS}/{name}"), 403)
    for path in ("/objects", "/properties", "/tags", "/objects/CPU Limits",
                 "/properties/cpu_cores", "/tags/t1", "/resource_types/OS::Glance::Image"):
        error(local_admin.delete(f"{NS}/{name}{path}"), 403)
    assert local_admin.get(f"{NS}/{name}").json() == shown

    # PUT replaces: left-out attributes take their defaults, contents stay
    resp = local_admin.put(f"{NS}/{name}", json={"namespace": name, "description": "now private"})
    assert resp.status_code == 200, resp.text
    updated = resp.json()
    assert updated["visibility"] == "private" and updated["protected"] is False
    assert "display_name" not in updated and updated["description"] == "now private"
    assert local_admin.get(f"{NS}/{name}").json()["tags"] == shown["tags"]

    assert local_admin.delete(f"{NS}/{name}").status_code == 204
    error(local_admin.get(f"{NS}/{name}"), 404)
    error(local_admin.get(f"{NS}/{name}/objects"), 404)


def test_rename_and_pages(local_admin: Api, made: list[str]) -> None:
    kind = unique("Test::Paging")  # a resource type of our own keeps the listing to ours
    names = [create_ns(local_admin, made, namespace=f"{kind}::{i}",
                       resource_type_associations=[{"name": kind}])["namespace"]
             for i in range(3)]
    assert kind in [t["name"] for t in local_admin.get("/v2/metadefs/resource_types").json()[
        "resource_types"]]  # associating with an unknown type creates it, as in Glance
    first = local_admin.get(NS, params={"resource_types": kind, "limit": 2, "sort_key": "namespace",
                                        "sort_dir": "asc"}).json()
    assert [n["namespace"] for n in first["namespaces"]] == names[:2]
    assert first["first"].startswith(f"{NS}?") and "marker" not in first["first"]
    assert first["schema"] == "/v2/schemas/metadefs/namespaces"
    second = local_admin.get(first["next"]).json()  # relative to the endpoint, as Glance's
    assert [n["namespace"] for n in second["namespaces"]] == names[2:]
    assert "next" not in second
    desc = names_listed(local_admin, resource_types=kind, sort_key="namespace", sort_dir="desc")
    assert desc == names[::-1]

    renamed = f"{kind}::renamed"
    made.append(renamed)
    resp = local_admin.put(f"{NS}/{names[0]}", json={"namespace": renamed, "visibility": "public"})
    assert resp.status_code == 200 and resp.json()["self"] == f"{NS}/{renamed}"
    assert local_admin.get(f"{NS}/{renamed}/resource_types").json()[
        "resource_type_associations"][0]["name"] == kind
    error(local_admin.get(f"{NS}/{names[0]}"), 404)
    assert "duplicate" in error(local_admin.put(f"{NS}/{renamed}", json={"namespace": names[1]}),
                                409)


def test_objects_properties_tags(local_admin: Api, made: list[str]) -> None:
    ns = create_ns(local_admin, made, visibility="public")["namespace"]
    base = f"{NS}/{ns}"

    # objects
    resp = local_admin.post(f"{base}/objects", json={"name": "obj", "description": "d",
                                                     "properties": {"p": {"title": "P",
                                                                          "type": "string"}}})
    assert resp.status_code == 201, resp.text
    obj = resp.json()
    assert obj["self"] == f"{base}/objects/obj" and obj["schema"] == \
        "/v2/schemas/metadefs/object"
    assert "required" not in obj and obj["properties"] == {"p": {"title": "P",
                                                                 "type": "string"}}
    error(local_admin.post(f"{base}/objects", json={"name": "obj"}), 409)
    error(local_admin.post(f"{base}/objects", json={"name": "x", "properties": {
        "p": {"title": "P", "type": "string", "bogus": 1}}}), 400)  # closed, as in Glance
    resp = local_admin.put(f"{base}/objects/obj", json={"name": "obj2", "required": ["p"]})
    assert resp.status_code == 200 and resp.json()["name"] == "obj2"
    assert "description" not in resp.json()  # PUT replaces
    listed = local_admin.get(f"{base}/objects").json()
    assert [o["name"] for o in listed["objects"]] == ["obj2"]
    assert listed["schema"] == "/v2/schemas/metadefs/objects"
    error(local_admin.get(f"{base}/objects/obj"), 404)
    assert local_admin.delete(f"{base}/objects/obj2").status_code == 204

    # properties
    prop = {"name": "hypervisor_type", "title": "Hypervisor", "type": "string",
            "enum": ["kvm", "qemu"]}
    resp = local_admin.post(f"{base}/properties", json=prop)
    assert resp.status_code == 201 and resp.json() == prop
    error(local_admin.post(f"{base}/properties", json=prop), 409)
    error(local_admin.post(f"{base}/properties", json={"name": "x", "type": "string"}), 400)
    error(local_admin.post(f"{base}/properties", json={"name": "x", "title": "X",
                                                       "type": "color"}), 400)
    error(local_admin.post(f"{base}/properties", json={**prop, "created_at": "x"}), 403)
    assert local_admin.get(f"{base}/properties/hypervisor_type").json() == prop
    resp = local_admin.put(f"{base}/properties/hypervisor_type",
                           json={**prop, "name": "hv", "title": "HV"})
    assert resp.status_code == 200 and resp.json()["title"] == "HV"
    assert local_admin.get(f"{base}/properties").json() == {"properties": {"hv": {
        "title": "HV", "type": "string", "enum": ["kvm", "qemu"]}}}
    assert local_admin.delete(f"{base}/properties/hv").status_code == 204
    error(local_admin.delete(f"{base}/properties/hv"), 404)

    # tags: one, several (replacing or appending), rename, delete one, delete all
    resp = local_admin.post(f"{base}/tags/solo")
    assert resp.status_code == 201 and resp.json()["name"] == "solo"
    assert set(resp.json()) == {"name", "created_at", "updated_at"}
    error(local_admin.post(f"{base}/tags/solo"), 409)
    resp = local_admin.post(f"{base}/tags", json={"tags": [{"name": "a"}, {"name": "b"}]})
    assert resp.status_code == 201 and resp.json() == {"tags": [{"name": "a"}, {"name": "b"}]}

    def tags() -> list[str]:
        return sorted(t["name"] for t in local_admin.get(f"{base}/tags").json()["tags"])
    assert tags() == ["a", "b"]  # replaced "solo"
    resp = local_admin.post(f"{base}/tags", json={"tags": [{"name": "c"}]},
                            headers={"X-Openstack-Append": "True"})
    assert resp.status_code == 201 and tags() == ["a", "b", "c"]
    error(local_admin.post(f"{base}/tags", json={"tags": [{"name": "a"}]},
                           headers={"X-Openstack-Append": "true"}), 409)
    error(local_admin.post(f"{base}/tags", json={"tags": [{"name": "d"}, {"name": "d"}]}), 409)
    assert tags() == ["a", "b", "c"]  # a refused replace keeps the old tags
    resp = local_admin.put(f"{base}/tags/a", json={"name": "z"})
    assert resp.status_code == 200 and resp.json()["name"] == "z"
    error(local_admin.put(f"{base}/tags/b", json={"name": "c"}), 409)
    assert local_admin.get(f"{base}/tags/z").json()["name"] == "z"
    assert local_admin.delete(f"{base}/tags/z").status_code == 204
    assert local_admin.delete(f"{base}/tags").status_code == 204 and tags() == []

    # resource type associations
    resp = local_admin.post(f"{base}/resource_types", json={"name": "OS::Cinder::Volume",
                                                            "prefix": "hw_",
                                                            "properties_target": "image"})
    assert resp.status_code == 201 and resp.json()["properties_target"] == "image"
    error(local_admin.post(f"{base}/resource_types", json={"name": "OS::Cinder::Volume"}), 409)
    assert [a["name"] for a in local_admin.get(f"{base}/resource_types").json()[
        "resource_type_associations"]] == ["OS::Cinder::Volume"]
    assert local_admin.delete(f"{base}/resource_types/OS::Cinder::Volume").status_code == 204
    error(local_admin.delete(f"{base}/resource_types/OS::Cinder::Volume"), 404)

    # delete all objects, all properties
    for i in range(2):
        local_admin.post(f"{base}/objects", json={"name": f"o{i}"})
        local_admin.post(f"{base}/properties", json={"name": f"p{i}", "title": "P",
                                                     "type": "boolean"})
    assert local_admin.delete(f"{base}/objects").status_code == 204
    assert local_admin.delete(f"{base}/properties").status_code == 204
    shown = local_admin.get(f"{base}").json()
    assert "objects" not in shown and "properties" not in shown


# ------------------------------------------------------------------------ who may do what

def test_visibility_and_admin_only_writes(local_admin: Api, local_alice, made: list[str]) -> None:
    public = create_ns(local_admin, made, visibility="public")["namespace"]
    # private by default, owned by admin's project
    private = create_ns(local_admin, made)["namespace"]
    alices = create_ns(local_admin, made, owner=local_alice.project_id)["namespace"]
    local_admin.post(f"{NS}/{private}/objects", json={"name": "secret"})

    listed = names_listed(local_alice.api)
    assert public in listed and alices in listed and private not in listed
    assert private in names_listed(local_admin)
    assert local_alice.api.get(f"{NS}/{public}").status_code == 200
    assert local_alice.api.get(f"{NS}/{alices}").json()["owner"] == local_alice.project_id
    # another project's private namespace does not exist for her, on any route
    for method, path in (("GET", ""), ("PUT", ""), ("DELETE", ""), ("GET", "/objects"),
                         ("GET", "/objects/secret"), ("DELETE", "/objects"),
                         ("POST", "/tags/x"), ("GET", "/properties"), ("GET", "/tags"),
                         ("GET", "/resource_types"), ("DELETE", "/resource_types/x")):
        kw = {"json": {"namespace": private}} if method == "PUT" else {}
        error(local_alice.api.request(method, f"{NS}/{private}{path}", **kw), 404)
    error(local_alice.api.get(NS, params={"marker": private}), 404)

    # what she sees she still may not change: writes are admin-only (Glance's metadef_admin)
    error(local_alice.api.post(NS, json={"namespace": unique("Test::Alice")}), 403)
    error(local_alice.api.put(f"{NS}/{public}", json={"namespace": public}), 403)
    error(local_alice.api.delete(f"{NS}/{public}"), 403)
    error(local_alice.api.delete(f"{NS}/{alices}"), 403)
    error(local_alice.api.post(f"{NS}/{public}/objects", json={"name": "o"}), 403)
    error(local_alice.api.post(f"{NS}/{public}/properties",
                               json={"name": "p", "title": "P", "type": "string"}), 403)
    error(local_alice.api.post(f"{NS}/{public}/tags/t"), 403)
    error(local_alice.api.post(f"{NS}/{public}/tags", json={"tags": [{"name": "t"}]}), 403)
    error(local_alice.api.post(f"{NS}/{public}/resource_types",
                               json={"name": "OS::Glance::Image"}), 403)
    error(local_alice.api.delete(f"{NS}/{public}/tags"), 403)
    shown = local_admin.get(f"{NS}/{public}").json()
    assert not {"objects", "properties", "tags", "resource_type_associations"} & set(shown)
    assert local_admin.get(f"{NS}/{public}").json()["visibility"] == "public"


def test_bad_input_changes_nothing(local_admin: Api, made: list[str]) -> None:
    before = names_listed(local_admin)
    name = unique("Test::Bad")
    headers = {"Content-Type": "application/json"}
    error(local_admin.post(NS, content=b"{not json", headers=headers), 400)
    error(local_admin.post(NS, content=b"", headers=headers), 400)
    error(local_admin.post(NS, json=["a", "list"]), 400)
    error(local_admin.post(NS, json={}), 400)  # namespace is required
    error(local_admin.post(NS, json={"namespace": name, "visibility": "shared"}), 400)
    error(local_admin.post(NS, json={"namespace": name, "protected": "yes"}), 400)
    error(local_admin.post(NS, json={"namespace": name, "color": "red"}), 400)
    error(local_admin.post(NS, json={"namespace": "x" * 81}), 400)
    error(local_admin.post(NS, json={"namespace": ""}), 400)
    error(local_admin.post(NS, json={"namespace": "a/b"}), 400)
    error(local_admin.post(NS, json={"namespace": "nul\u0000here"}), 400)
    assert "read-only" in error(local_admin.post(NS, json={"namespace": name, "self": "x"}), 403)
    error(local_admin.post(NS, json={"namespace": name, "description": "x" * (300 << 10)}), 413)
    # a bad or duplicate item among the contents: no namespace is left half-made
    error(local_admin.post(NS, json={"namespace": name, "objects": [{"name": "o"}, {"name": "o"}]}),
          409)
    error(local_admin.post(NS, json={"namespace": name, "tags": [{"name": "t"}, {"name": "t"}]}),
          409)
    error(local_admin.post(NS, json={"namespace": name, "properties": {"p": {"type": "string"}}}),
          400)
    error(local_admin.post(NS, json={"namespace": name, "objects": [{"description": "no name"}]}),
          400)
    error(local_admin.get(f"{NS}/{name}"), 404)

    existing = create_ns(local_admin, made)["namespace"]
    assert "already exists" in error(local_admin.post(NS, json={"namespace": existing}), 409)
    error(local_admin.put(f"{NS}/{existing}", content=b"[", headers=headers), 400)
    error(local_admin.put(f"{NS}/{existing}", json={"visibility": "public"}), 400)
    error(local_admin.put(f"{NS}/{unique('Test::None')}", json={"namespace": "x"}), 404)
    error(local_admin.post(f"{NS}/{existing}/objects", json={"name": 5}), 400)
    error(local_admin.post(f"{NS}/{existing}/tags/{'t' * 81}"), 400)
    error(local_admin.post(f"{NS}/{existing}/tags", json={"tags": "a"}), 400)
    error(local_admin.post(f"{NS}/{existing}/resource_types", json={"prefix": "x"}), 400)
    error(local_admin.get(f"{NS}/{existing}/objects/none"), 404)
    error(local_admin.get(f"{NS}/{existing}/tags/none"), 404)
    error(local_admin.delete(f"{NS}/{existing}/properties/none"), 404)
    for params in ({"limit": "x"}, {"limit": "-1"}, {"sort_dir": "up"},
                   {"sort_key": "size"}, {"visibility": "shared"}):
        error(local_admin.get(NS, params=params), 400)
    assert local_admin.get(f"{NS}/{existing}").json().keys() == create_keys()
    assert sorted(names_listed(local_admin)) == sorted([*before, existing])


def create_keys() -> set[str]:
    return {"namespace", "visibility", "protected", "owner", "created_at", "updated_at",
            "self", "schema"}


# ------------------------------------------------------------------------ real clients

def test_openstack_cli(local_srv: RunningServer, local_admin: Api, tmp_path: Path,
                       made: list[str]) -> None:
    clouds = local_srv.write_clouds_yaml(tmp_path / "clouds.yaml")
    name = unique("OSC::Test")
    made.append(name)
    created = openstack_json(clouds, "image", "metadef", "namespace", "create", name,
                             "--display-name", "From OSC", "--description", "osc made me",
                             "--public", "--protected")
    assert created["namespace"] == name and created["visibility"] == "public"
    assert created["protected"] is True
    listed = openstack_json(clouds, "image", "metadef", "namespace", "list")
    assert name in {n["namespace"] for n in listed}
    shown = openstack_json(clouds, "image", "metadef", "namespace", "show", name)
    assert shown["display_name"] == "From OSC" and shown["owner"] == local_admin.project_id

    schema = json.dumps({"description": "cores", "minimum": 1})
    prop = openstack_json(clouds, "image", "metadef", "property", "create", "--name",
                          "cpu_cores", "--title", "CPU cores", "--type", "integer",
                          "--schema", schema, name)
    assert prop["name"] == "cpu_cores"
    props = openstack_json(clouds, "image", "metadef", "property", "list", name)
    assert [p["name"] for p in props] == ["cpu_cores"]
    stored = local_admin.get(f"{NS}/{name}/properties/cpu_cores").json()
    assert {k: stored[k] for k in ("name", "title", "type", "description", "minimum")} == {
        "name": "cpu_cores", "title": "CPU cores", "type": "integer", "description": "cores",
        "minimum": 1}

    obj = openstack_json(clouds, "image", "metadef", "object", "create", "--namespace", name,
                         "osc-object")
    assert obj["name"] == "osc-object"
    assert [o["name"] for o in local_admin.get(f"{NS}/{name}/objects").json()["objects"]] == \
        ["osc-object"]

    types = openstack_json(clouds, "image", "metadef", "resource", "type", "list")
    assert set(SEEDED) <= {t["Name"] for t in types}

    # protected: the CLI reports the 403, then deletes once unprotected
    refused = openstack(clouds, "image", "metadef", "namespace", "delete", name, check=False)
    assert refused.returncode != 0
    openstack(clouds, "image", "metadef", "namespace", "set", "--unprotected", name)
    openstack(clouds, "image", "metadef", "namespace", "delete", name)
    assert local_admin.get(f"{NS}/{name}").status_code == 404


def test_glance_md_commands(local_srv: RunningServer, local_admin: Api, made: list[str]) -> None:
    name = unique("Glance::Test")
    made.append(name)

    def run(*args: str) -> str:
        return glance(local_srv.url, "admin", local_srv.admin_password, "admin", *args).stdout

    out = run("md-namespace-create", name, "--visibility", "public", "--display-name", "GC",
              "--description", "from glanceclient")
    assert name in out and "public" in out
    run("md-resource-type-associate", name, "--name", "OS::Glance::Image", "--prefix", "gc_")
    run("md-property-create", name, "--name", "os_flavor", "--title", "Flavor", "--type",
        "string", "--schema", json.dumps({"enum": ["small", "large"]}))
    run("md-object-create", name, "--name", "gc-object", "--schema",
        json.dumps({"description": "an object", "properties": {
            "size": {"title": "Size", "type": "integer"}}}))
    run("md-tag-create-multiple", name, "--names", "one,two", "--delim", ",")
    run("md-property-update", name, "os_flavor", "--title", "Flavour")
    run("md-namespace-update", name, "--display-name", "GC2", "--protected", "true")
    assert "os_flavor" in run("md-property-list", name)
    assert "OS::Glance::Image" in run("md-namespace-resource-type-list", name)
    assert name in run("md-namespace-list")
    assert "gc_os_flavor" in run("md-namespace-show", name, "--resource-type",
                                 "OS::Glance::Image")

    shown = local_admin.get(f"{NS}/{name}").json()
    assert shown["display_name"] == "GC2" and shown["protected"] is True
    assert shown["visibility"] == "public"  # glanceclient sends back what it read
    assert shown["properties"]["os_flavor"]["title"] == "Flavour"
    assert shown["objects"][0]["properties"] == {"size": {"title": "Size", "type": "integer"}}
    assert sorted(t["name"] for t in shown["tags"]) == ["one", "two"]

    refused = glance(local_srv.url, "admin", local_srv.admin_password, "admin",
                     "md-namespace-delete", name, check=False)
    assert refused.returncode != 0 and local_admin.get(f"{NS}/{name}").status_code == 200
    run("md-namespace-update", name, "--protected", "false")
    run("md-namespace-delete", name)
    assert local_admin.get(f"{NS}/{name}").status_code == 404
