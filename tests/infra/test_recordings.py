"""Recording in the stack: a private, encrypted recordings bucket whose lifecycle outlasts the
replay retention by a day, IVS's storage configuration on it (participant recordings), the app
wired to them, least-privilege grants for the API and the landing job, and the landing job sized
to mix audio in process (docs/recording.md). No MediaConvert, no composition for recording."""
from __future__ import annotations

import pytest

from infra.stages import stage as stage_settings
from tests.infra.helpers import (
    as_list,
    flatten,
    grants_of_function,
    ref_id,
    resources_of,
    role_of_function,
    statements_of_role,
)

pytestmark = pytest.mark.slow


def _bucket(template) -> tuple[str, dict]:
    [(logical_id, bucket)] = [
        (k, v) for k, v in resources_of(template, "AWS::S3::Bucket").items() if k.startswith("Recordings")
    ]
    return logical_id, bucket


def test_the_recordings_bucket_is_private_encrypted_and_kept(templates, stage):
    _, bucket = _bucket(templates[stage])
    props = bucket["Properties"]

    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True,
    }
    # SSE-S3: what IVS requires of a bucket it records into.
    [rule] = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert bucket["DeletionPolicy"] == "Retain" and bucket["UpdateReplacePolicy"] == "Retain"


def test_objects_expire_one_day_after_the_replay_retention(templates, stage):
    _, bucket = _bucket(templates[stage])
    settings = stage_settings(stage)

    rules = {r["Id"]: r for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    rule = rules["replay-retention"]

    assert rule["Status"] == "Enabled"
    assert rule["ExpirationInDays"] == settings.replay_retention_days + 1 == 31
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert "Prefix" not in rule and "Filter" not in rule, "every object of the bucket"


def test_the_bucket_is_versioned_and_old_versions_expire(templates, stage):
    _, bucket = _bucket(templates[stage])
    settings = stage_settings(stage)

    rules = {r["Id"]: r for r in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}

    assert bucket["Properties"]["VersioningConfiguration"] == {"Status": "Enabled"}
    # An overwritten or deleted recording stays restorable for a week, then goes for good.
    assert rules["replay-retention"]["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": settings.noncurrent_recordings_days
    }
    assert rules["delete-markers"] == {"Id": "delete-markers", "Status": "Enabled", "ExpiredObjectDeleteMarker": True}


def test_the_stack_leaves_the_bucket_policy_to_ivs(templates, stage):
    bucket_id, _ = _bucket(templates[stage])

    policies = [
        p for p in resources_of(templates[stage], "AWS::S3::BucketPolicy").values()
        if ref_id(p["Properties"]["Bucket"]) == bucket_id
    ]

    assert policies == [], "IVS adds its own statement when the storage configuration is created"


def test_ivs_records_into_the_bucket_and_no_encoder_is_made_for_recording(templates, stage):
    template = templates[stage]
    bucket_id, _ = _bucket(template)
    [storage] = resources_of(template, "AWS::IVS::StorageConfiguration").values()
    [encoder_id] = resources_of(template, "AWS::IVS::EncoderConfiguration")

    assert ref_id(storage["Properties"]["S3"]["BucketName"]) == bucket_id
    assert storage["Properties"]["Name"] == f"spaces-{stage}-recordings"
    for function in resources_of(template, "AWS::Serverless::Function").values():
        variables = function["Properties"]["Environment"]["Variables"]
        assert "SPACES_IVS_ENCODER_CONFIGURATION_ARN" not in variables and "SPACES_MEDIACONVERT_ROLE_ARN" not in variables
        # The one encoder configuration left is the overflow channels'.
        assert ref_id(variables["SPACES_OVERFLOW_ENCODER_CONFIGURATION_ARN"]) == encoder_id
    assert not any("Remux" in k for k in resources_of(template, "AWS::IAM::Role"))


def test_every_function_knows_the_bucket_the_configuration_and_the_retention(templates, stage):
    template = templates[stage]
    bucket_id, _ = _bucket(template)
    [storage_id] = resources_of(template, "AWS::IVS::StorageConfiguration")
    for function in resources_of(template, "AWS::Serverless::Function").values():
        variables = function["Properties"]["Environment"]["Variables"]
        assert ref_id(variables["SPACES_RECORDINGS_BUCKET"]) == bucket_id
        assert ref_id(variables["SPACES_IVS_STORAGE_CONFIGURATION_ARN"]) == storage_id
        assert variables["SPACES_REPLAY_RETENTION_DAYS"] == "30"


def test_the_api_may_create_recorded_stages_serve_and_delete_replays_and_no_more(templates, stage):
    template = templates[stage]
    bucket_id, _ = _bucket(template)
    grants = grants_of_function(template, "APIHandler")

    assert "<RecordingStorage.Arn>" in grants["ivs:CreateStage"]
    assert not any("RecordingStorage" in r for a, rs in grants.items() if a != "ivs:CreateStage" for r in rs)
    assert "ivs:StartComposition" not in grants and "ivs:GetComposition" not in grants, "no composition records"
    for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
        assert grants[action] == [f"<{bucket_id}.Arn>/*"]
    assert grants["s3:ListBucket"] == [f"<{bucket_id}.Arn>"]
    for action in ("transcribe:StartTranscriptionJob", "transcribe:GetTranscriptionJob"):
        assert grants[action] == [
            f"arn:<AWS::Partition>:transcribe:<AWS::Region>:<AWS::AccountId>:transcription-job/spaces-{stage}-*"
        ]
    assert not any(a.startswith("s3:") and a not in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket") for a in grants)
    assert not any(a.startswith(("mediaconvert:", "iam:PassRole")) and "mediaconvert" in str(rs) for a, rs in grants.items())


def test_the_landing_job_runs_every_minute_with_only_what_it_needs(templates, stage):
    template = templates[stage]
    bucket_id, _ = _bucket(template)
    function = resources_of(template, "AWS::Serverless::Function")["LandRecordings"]
    grants = grants_of_function(template, "LandRecordings")

    [event] = function["Properties"]["Events"].values()
    assert event["Type"] == "Schedule" and event["Properties"]["Schedule"] == "rate(1 minute)"
    for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
        assert grants[action] == [f"<{bucket_id}.Arn>/*"]
    assert grants["s3:ListBucket"] == [f"<{bucket_id}.Arn>"]
    assert not any(a.startswith(("ivs:", "mediaconvert:")) for a in grants)
    # Mixing runs in the function: sized for it.
    props = function["Properties"]
    assert (props["MemorySize"], props["Timeout"], props["EphemeralStorage"]) == (2048, 900, {"Size": 4096})
    tables = {
        template["Resources"][ref_id(r) or ref_id(r["Fn::Join"][1][0])]["Properties"]["TableName"]
        for s in statements_of_role(template, role_of_function(template, "LandRecordings"))
        if any(a == "dynamodb:PutItem" for a in as_list(s["Action"]))
        for r in as_list(s["Resource"])
    }
    assert tables == {f"spaces-{stage}-spaces"}


def test_workers_other_than_the_landing_job_cannot_touch_recordings(templates, stage):
    template = templates[stage]
    for function_id in resources_of(template, "AWS::Serverless::Function"):
        if function_id in ("APIHandler", "LandRecordings"):
            continue
        grants = grants_of_function(template, function_id)
        assert not any(a.startswith(("s3:", "transcribe:", "mediaconvert:")) for a in grants), function_id
        assert not any("RecordingStorage" in r for rs in grants.values() for r in rs), function_id
        # Compositions are the overflow's only (docs/overflow.md): the rank job starts them, the
        # release job stops them.
        if function_id not in ("RefreshLiveRanks", "ReleasePendingMedia"):
            assert not any("Composition" in a for a in grants), function_id
