"""DynamoDB tables, generated from the PynamoDB models (`ALL_MODELS`): nothing is copied by hand.

Each model's key schema, attribute definitions and secondary indexes come from
`Model._get_schema()`, the same description PynamoDB sends to CreateTable for the local stack and
the tests, so the tables in AWS have exactly the keys and indexes the code was tested against.
The TTL attribute is the model's `TTLAttribute`, if it has one; the stream is the model's
`Meta.stream_view_type`, if it declares one (PynamoDB's CreateTable reads the same attribute), so
a table has a stream exactly when the code reads one.
"""
from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct
from pynamodb.attributes import TTLAttribute

from infra.stages import StageSettings


@dataclass(frozen=True)
class TableSpec:
    """What CloudFormation needs to create one model's table."""

    suffix: str
    key_schema: list[dict]
    attribute_definitions: list[dict]
    global_secondary_indexes: list[dict]
    local_secondary_indexes: list[dict]
    ttl_attribute: str | None
    stream_view_type: str | None = None  # "NEW_IMAGE" ...: the table has a stream

    @property
    def index_names(self) -> list[str]:
        return [i["IndexName"] for i in self.global_secondary_indexes + self.local_secondary_indexes]


def _ordered(key_schema) -> list[dict]:
    # DynamoDB wants the HASH key first; PynamoDB lists keys in attribute declaration order.
    return sorted((dict(k) for k in key_schema), key=lambda k: k["KeyType"] != "HASH")


def _index(raw: dict) -> dict:
    # PynamoDB describes an index in snake_case for its own CreateTable call; CloudFormation
    # wants the API's names. Only keys and projection: on-demand indexes have no throughput.
    return {
        "IndexName": raw["index_name"],
        "KeySchema": _ordered(raw["key_schema"]),
        "Projection": dict(raw["projection"]),
    }


def table_spec(model) -> TableSpec:
    schema = model._get_schema()
    ttl = [a.attr_name for a in model.get_attributes().values() if isinstance(a, TTLAttribute)]
    if len(ttl) > 1:
        raise ValueError(f"{model.__name__} declares {len(ttl)} TTL attributes; DynamoDB allows one")
    return TableSpec(
        suffix=model.Meta.suffix,
        key_schema=_ordered(schema["key_schema"]),
        attribute_definitions=[dict(a) for a in schema["attribute_definitions"]],
        global_secondary_indexes=[_index(i) for i in schema.get("global_secondary_indexes", [])],
        local_secondary_indexes=[_index(i) for i in schema.get("local_secondary_indexes", [])],
        ttl_attribute=ttl[0] if ttl else None,
        stream_view_type=getattr(model.Meta, "stream_view_type", None),
    )


def all_specs() -> list[TableSpec]:
    from chalicelib.adapters.dynamodb.models import ALL_MODELS

    return [table_spec(model) for model in ALL_MODELS]


@dataclass(frozen=True)
class Table:
    spec: TableSpec
    name: str
    resource: dynamodb.CfnTable

    @property
    def arn(self) -> str:
        return self.resource.attr_arn

    @property
    def resource_arns(self) -> list[str]:
        """The table and, if it has any, its indexes: what a Query on an index is checked against."""
        arns = [self.arn]
        if self.spec.index_names:
            arns.append(f"{self.arn}/index/*")
        return arns

    @property
    def stream_arn(self) -> str:
        """The table's current stream: what an event source mapping reads."""
        self._require_stream()
        return self.resource.attr_stream_arn

    @property
    def stream_resource_arns(self) -> list[str]:
        """What the stream read actions are checked against: the table's streams, so a grant
        outlives the stream being remade (another view type is another stream ARN)."""
        self._require_stream()
        return [f"{self.arn}/stream/*"]

    def _require_stream(self) -> None:
        if not self.spec.stream_view_type:
            raise ValueError(f"table {self.name} has no stream: its model declares no stream_view_type")


def _keys(key_schema: list[dict]) -> list:
    return [
        dynamodb.CfnTable.KeySchemaProperty(attribute_name=k["AttributeName"], key_type=k["KeyType"])
        for k in key_schema
    ]


def _projection(index: dict):
    projection = index["Projection"]
    return dynamodb.CfnTable.ProjectionProperty(
        projection_type=projection["ProjectionType"],
        non_key_attributes=list(projection["NonKeyAttributes"]) if projection.get("NonKeyAttributes") else None,
    )


def create_tables(scope: Construct, settings: StageSettings) -> dict[str, Table]:
    """One on-demand table per model, named `<prefix>-<suffix>` as the app computes it from
    SPACES_TABLE_PREFIX. Keyed by suffix ("spaces", "push-claims" ...)."""
    tables: dict[str, Table] = {}
    for spec in all_specs():
        name = f"{settings.prefix}-{spec.suffix}"
        T = dynamodb.CfnTable
        resource = T(
            scope,
            f"Table-{spec.suffix}",
            table_name=name,
            billing_mode="PAY_PER_REQUEST",
            key_schema=_keys(spec.key_schema),
            attribute_definitions=[
                T.AttributeDefinitionProperty(attribute_name=a["AttributeName"], attribute_type=a["AttributeType"])
                for a in spec.attribute_definitions
            ],
            global_secondary_indexes=[
                T.GlobalSecondaryIndexProperty(
                    index_name=i["IndexName"], key_schema=_keys(i["KeySchema"]), projection=_projection(i)
                )
                for i in spec.global_secondary_indexes
            ]
            or None,
            local_secondary_indexes=[
                T.LocalSecondaryIndexProperty(
                    index_name=i["IndexName"], key_schema=_keys(i["KeySchema"]), projection=_projection(i)
                )
                for i in spec.local_secondary_indexes
            ]
            or None,
            point_in_time_recovery_specification=T.PointInTimeRecoverySpecificationProperty(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection_enabled=settings.production,
            time_to_live_specification=(
                T.TimeToLiveSpecificationProperty(attribute_name=spec.ttl_attribute, enabled=True)
                if spec.ttl_attribute
                else None
            ),
            stream_specification=(
                T.StreamSpecificationProperty(stream_view_type=spec.stream_view_type)
                if spec.stream_view_type
                else None
            ),
        )
        resource.apply_removal_policy(RemovalPolicy.RETAIN if settings.production else RemovalPolicy.DESTROY)
        tables[spec.suffix] = Table(spec=spec, name=name, resource=resource)
    return tables
