"""The deployed tables are the tables the code is tested against: one per PynamoDB model, with the
model's keys, indexes, TTL and stream, on demand, with point-in-time recovery, protected in prod."""
from __future__ import annotations

import pytest
from pynamodb.attributes import TTLAttribute

from chalicelib.adapters.dynamodb.models import ALL_MODELS
from tests.infra.helpers import resources_of

pytestmark = pytest.mark.slow


def _keys(key_schema) -> list[tuple[str, str]]:
    # HASH before RANGE, whatever order the model lists them in.
    return sorted(((k["AttributeName"], k["KeyType"]) for k in key_schema), key=lambda k: k[1] != "HASH")


def _projection(projection: dict) -> tuple:
    return projection["ProjectionType"], tuple(sorted(projection.get("NonKeyAttributes", [])))


def _indexes(indexes) -> dict:
    return {i["IndexName"]: (_keys(i["KeySchema"]), _projection(i["Projection"])) for i in indexes or []}


def _model_indexes(indexes) -> dict:
    return {i["index_name"]: (_keys(i["key_schema"]), _projection(i["projection"])) for i in indexes or []}


def _tables_by_name(template: dict) -> dict[str, dict]:
    return {t["Properties"]["TableName"]: t for t in resources_of(template, "AWS::DynamoDB::Table").values()}


def test_there_is_exactly_one_table_per_model(templates, stage):
    names = sorted(_tables_by_name(templates[stage]))
    assert names == sorted(f"spaces-{stage}-{m.Meta.suffix}" for m in ALL_MODELS)


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.Meta.suffix)
def test_each_table_has_the_keys_indexes_and_ttl_its_model_declares(templates, stage, model):
    table = _tables_by_name(templates[stage])[f"spaces-{stage}-{model.Meta.suffix}"]["Properties"]
    schema = model._get_schema()  # what PynamoDB creates locally and in every test

    assert _keys(table["KeySchema"]) == _keys(schema["key_schema"])
    assert {(a["AttributeName"], a["AttributeType"]) for a in table["AttributeDefinitions"]} == {
        (a["AttributeName"], a["AttributeType"]) for a in schema["attribute_definitions"]
    }
    assert _indexes(table.get("GlobalSecondaryIndexes")) == _model_indexes(schema.get("global_secondary_indexes"))
    assert _indexes(table.get("LocalSecondaryIndexes")) == _model_indexes(schema.get("local_secondary_indexes"))
    ttl = [a.attr_name for a in model.get_attributes().values() if isinstance(a, TTLAttribute)]
    if ttl:
        assert table["TimeToLiveSpecification"] == {"AttributeName": ttl[0], "Enabled": True}
    else:
        assert "TimeToLiveSpecification" not in table
    view_type = getattr(model.Meta, "stream_view_type", None)
    if view_type:
        assert table["StreamSpecification"] == {"StreamViewType": view_type}
    else:
        assert "StreamSpecification" not in table


def test_only_the_participants_table_has_a_stream_and_it_shows_new_images(templates, stage):
    streams = {
        name: table["Properties"]["StreamSpecification"]
        for name, table in _tables_by_name(templates[stage]).items()
        if "StreamSpecification" in table["Properties"]
    }
    assert streams == {f"spaces-{stage}-participants": {"StreamViewType": "NEW_IMAGE"}}


def test_tables_are_on_demand_with_point_in_time_recovery(cdk_templates, templates, stage):
    from aws_cdk.assertions import Match

    count = len(resources_of(templates[stage], "AWS::DynamoDB::Table"))
    cdk_templates[stage].resource_properties_count_is(
        "AWS::DynamoDB::Table",
        Match.object_like(
            {
                "BillingMode": "PAY_PER_REQUEST",
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            }
        ),
        count,
    )


def test_push_claims_expire_by_ttl_on_expires_at(cdk_templates, stage):
    cdk_templates[stage].has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": f"spaces-{stage}-push-claims",
            "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
        },
    )


def test_spaces_table_keeps_the_by_creator_index_with_state(cdk_templates, stage):
    from aws_cdk.assertions import Match

    cdk_templates[stage].has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": f"spaces-{stage}-spaces",
            "GlobalSecondaryIndexes": Match.array_with(
                [
                    {
                        "IndexName": "by_creator",
                        "KeySchema": [
                            {"AttributeName": "creator_id", "KeyType": "HASH"},
                            {"AttributeName": "sort_time", "KeyType": "RANGE"},
                        ],
                        "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["state"]},
                    }
                ]
            ),
        },
    )


def test_prod_tables_cannot_be_deleted_and_dev_tables_go_with_the_stack(templates):
    for table in resources_of(templates["prod"], "AWS::DynamoDB::Table").values():
        assert table["Properties"]["DeletionProtectionEnabled"] is True
        assert table["DeletionPolicy"] == "Retain"
        assert table["UpdateReplacePolicy"] == "Retain"
    for table in resources_of(templates["dev"], "AWS::DynamoDB::Table").values():
        assert table["Properties"]["DeletionProtectionEnabled"] is False
        assert table["DeletionPolicy"] == "Delete"
