"""Small readers of synthesized templates, shared by the infra tests."""
from __future__ import annotations


def resources_of(template: dict, resource_type: str) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def policy_statements(template: dict):
    """(resource id, statement) for every statement of every identity policy in the template:
    AWS::IAM::Policy, AWS::IAM::ManagedPolicy and the inline policies of AWS::IAM::Role."""
    for logical_id, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        documents = []
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents.append(props["PolicyDocument"])
        if resource["Type"] == "AWS::IAM::Role":
            documents.extend(p["PolicyDocument"] for p in props.get("Policies", []))
        for document in documents:
            for statement in document["Statement"]:
                yield logical_id, statement


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def ref_id(value) -> str | None:
    """The logical id a Ref / Fn::GetAtt points at, or None."""
    if isinstance(value, dict):
        if "Ref" in value:
            return value["Ref"]
        if "Fn::GetAtt" in value:
            return value["Fn::GetAtt"][0]
    return None


def role_of_function(template: dict, function_id: str) -> str:
    role = template["Resources"][function_id]["Properties"]["Role"]
    found = ref_id(role)
    assert found, f"{function_id} has no role of this stack: {role}"
    return found


def statements_of_role(template: dict, role_id: str) -> list[dict]:
    found = []
    for resource in template["Resources"].values():
        # CDK moves statements past an inline policy's size limit into managed "OverflowPolicy"s.
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") and any(
            ref_id(r) == role_id for r in resource["Properties"].get("Roles", [])
        ):
            found.extend(resource["Properties"]["PolicyDocument"]["Statement"])
    role = template["Resources"][role_id]["Properties"]
    for policy in role.get("Policies", []):
        found.extend(policy["PolicyDocument"]["Statement"])
    return found


def flatten(value) -> str:
    """A CloudFormation value as text: Fn::Join parts concatenated, Ref/GetAtt as <id>."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(flatten(v) for v in value)
    if isinstance(value, dict):
        if "Fn::Join" in value:
            sep, parts = value["Fn::Join"]
            return sep.join(flatten(p) for p in parts)
        if "Ref" in value:
            return f"<{value['Ref']}>"
        if "Fn::GetAtt" in value:
            return f"<{value['Fn::GetAtt'][0]}.{value['Fn::GetAtt'][1]}>"
        if "Fn::Sub" in value:
            sub = value["Fn::Sub"]
            return sub if isinstance(sub, str) else sub[0]
    return str(value)


def grants_of_function(template: dict, function_id: str) -> dict[str, list[str]]:
    """action -> the resources (flattened) the function's role is granted it on."""
    by_action: dict[str, list[str]] = {}
    for statement in statements_of_role(template, role_of_function(template, function_id)):
        for action in as_list(statement.get("Action", [])):
            by_action.setdefault(action, []).extend(flatten(r) for r in as_list(statement["Resource"]))
    return by_action


def app_setting_names() -> set[str]:
    """Every environment variable the app's Settings reads (chalicelib/config.py derives each
    from its field: `max_cohosts` from SPACES_MAX_COHOSTS, unless the field names its own)."""
    from dataclasses import fields

    from chalicelib.config import Settings, env_names

    return {name for f in fields(Settings) for name in env_names(f)}
