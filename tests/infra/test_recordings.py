"""Recording in the stack: a private, encrypted recordings bucket whose lifecycle outlasts the
replay retention by a day, IVS's storage and encoder configurations on it, the role MediaConvert
remuxes recordings with, the app wired to them, and least-privilege grants for the API and the
landing job (docs/recording.md)."""
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


def _remux_role(template) -> str:
    [role_id] = [k for k in resources_of(template, "AWS::IAM::Role") if k.startswith("RecordingRemuxRole")]
    return role_id


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


def test_ivs_records_into_the_bucket_with_a_small_encoder(templates, stage):
    template = templates[stage]
    bucket_id, _ = _bucket(template)
    [storage] = resources_of(template, "AWS::IVS::StorageConfiguration").values()
    [encoder] = resources_of(template, "AWS::IVS::EncoderConfiguration").values()

    assert ref_id(storage["Properties"]["S3"]["BucketName"]) == bucket_id
    assert storage["Properties"]["Name"] == f"spaces-{stage}-recordings"
    assert encoder["Properties"]["Video"] == {"Width": 640, "Height": 360, "Framerate": 15, "Bitrate": 500000}


def test_every_function_knows_the_bucket_the_configurations_and_the_retention(templates, stage):
    template = templates[stage]
    bucket_id, _ = _bucket(template)
    ids = {
        resource["Type"]: logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] in ("AWS::IVS::StorageConfiguration", "AWS::IVS::EncoderConfiguration")
    }
    for function in resources_of(template, "AWS::Serverless::Function").values():
        variables = function["Properties"]["Environment"]["Variables"]
        assert ref_id(variables["SPACES_RECORDINGS_BUCKET"]) == bucket_id
        assert ref_id(variables["SPACES_IVS_STORAGE_CONFIGURATION_ARN"]) == ids["AWS::IVS::StorageConfiguration"]
        assert ref_id(variables["SPACES_IVS_ENCODER_CONFIGURATION_ARN"]) == ids["AWS::IVS::EncoderConfiguration"]
        assert variables["SPACES_MEDIACONVERT_ROLE_ARN"] == {"Fn::GetAtt": [_remux_role(template), "Arn"]}
        assert variables["SPACES_REPLAY_RETENTION_DAYS"] == "30"


def test_the_api_may_record_serve_and_delete_replays_and_no_more(templates, stage):
    template = templates[stage]
    bucket_id, _ = _bucket(template)
    grants = grants_of_function(template, "APIHandler")

    recording = [
        f"arn:<AWS::Partition>:ivs:<AWS::Region>:<AWS::AccountId>:stage/*",
        f"arn:<AWS::Partition>:ivs:<AWS::Region>:<AWS::AccountId>:composition/*",
        "<RecordingStorage.Arn>",
        "<RecordingEncoder.Arn>",
    ]
    for action in ("ivs:StartComposition", "ivs:GetComposition"):
        assert sorted(grants[action]) == sorted(recording)
    # Stop also covers the overflow composition an ended Space leaves (docs/overflow.md).
    assert set(recording) <= set(grants["ivs:StopComposition"])
    for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject"):
        assert grants[action] == [f"<{bucket_id}.Arn>/*"]
    assert grants["s3:ListBucket"] == [f"<{bucket_id}.Arn>"]
    for action in ("transcribe:StartTranscriptionJob", "transcribe:GetTranscriptionJob"):
        assert grants[action] == [
            f"arn:<AWS::Partition>:transcribe:<AWS::Region>:<AWS::AccountId>:transcription-job/spaces-{stage}-*"
        ]
    assert not any(a.startswith("s3:") and a not in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket") for a in grants)
    _may_remux_with_the_remux_role_only(template, "APIHandler")


def test_the_landing_job_runs_every_minute_with_only_what_it_needs(templates, stage):
    template = templates[stage]
    bucket_id, _ = _bucket(template)
    function = resources_of(template, "AWS::Serverless::Function")["LandRecordings"]
    grants = grants_of_function(template, "LandRecordings")

    [event] = function["Properties"]["Events"].values()
    assert event["Type"] == "Schedule" and event["Properties"]["Schedule"] == "rate(1 minute)"
    assert grants["s3:GetObject"] == grants["s3:PutObject"] == [f"<{bucket_id}.Arn>/*"]
    assert "s3:DeleteObject" not in grants and "s3:ListBucket" not in grants
    assert not any(a.startswith("ivs:") for a in grants)
    _may_remux_with_the_remux_role_only(template, "LandRecordings")
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
        assert not any("RecordingRemuxRole" in r for rs in grants.values() for r in rs), function_id
        # Compositions: the overflow ones (docs/overflow.md) - the rank job starts them, the
        # release job stops them - and, for the keep_recordings_running job only, a recording
        # IVS stopped while its Space is live, started again on the recordings' storage
        # configuration (docs/recording.md); nothing of the bucket itself.
        if function_id not in ("RefreshLiveRanks", "ReleasePendingMedia", "KeepRecordingsRunning"):
            assert not any("Composition" in a for a in grants), function_id
        if function_id == "KeepRecordingsRunning":
            restart = [a for a, rs in grants.items() if any("RecordingStorage" in r for r in rs)]
            assert sorted(restart) == ["ivs:GetComposition", "ivs:StartComposition", "ivs:StopComposition", "ivs:TagResource"]
        else:
            assert not any("RecordingStorage" in r for rs in grants.values() for r in rs), function_id


def _may_remux_with_the_remux_role_only(template, function_id):
    """Start and follow MediaConvert jobs, passing exactly the remux role, to MediaConvert only."""
    statements = statements_of_role(template, role_of_function(template, function_id))
    grants = grants_of_function(template, function_id)
    for action in ("mediaconvert:CreateJob", "mediaconvert:GetJob"):
        assert sorted(grants[action]) == [
            "arn:<AWS::Partition>:mediaconvert:<AWS::Region>:<AWS::AccountId>:jobs/*",
            "arn:<AWS::Partition>:mediaconvert:<AWS::Region>:<AWS::AccountId>:queues/Default",
        ]
    assert sorted(a for a in grants if a.startswith("mediaconvert:")) == ["mediaconvert:CreateJob", "mediaconvert:GetJob"]
    passes = [s for s in statements if "iam:PassRole" in as_list(s["Action"])]
    remux = [s for s in passes if any("RecordingRemuxRole" in flatten(r) for r in as_list(s["Resource"]))]
    [statement] = remux
    assert [flatten(r) for r in as_list(statement["Resource"])] == [f"<{_remux_role(template)}.Arn>"]
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "mediaconvert.amazonaws.com"}}


def test_mediaconvert_may_read_recordings_and_write_replay_files_and_nothing_else(templates, stage):
    template = templates[stage]
    bucket_id, _ = _bucket(template)
    role = template["Resources"][_remux_role(template)]["Properties"]

    trust = role["AssumeRolePolicyDocument"]["Statement"]
    assert [(s["Effect"], s["Action"], s["Principal"]) for s in trust] == [
        ("Allow", "sts:AssumeRole", {"Service": "mediaconvert.amazonaws.com"})
    ]
    assert "ManagedPolicyArns" not in role, "no AmazonS3FullAccess, the console's default"
    grants: dict[str, list[str]] = {}
    for statement in statements_of_role(template, _remux_role(template)):
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            grants.setdefault(action, []).extend(flatten(r) for r in as_list(statement["Resource"]))
    assert grants == {
        "s3:GetObject": [f"<{bucket_id}.Arn>/*"],
        "s3:PutObject": [f"<{bucket_id}.Arn>/replays/*"],
    }


def test_the_replay_files_prefix_infra_grants_is_the_one_the_app_writes(templates, stage):
    from chalicelib.domain.recording import replay_file_key

    [put] = [s for s in statements_of_role(templates[stage], _remux_role(templates[stage])) if s["Action"] == "s3:PutObject"]
    granted = flatten(put["Resource"]).split(".Arn>/", 1)[1]

    assert replay_file_key("01JD2Z6R9V3M8K4T5N7Q1W2E3R").startswith(granted.rstrip("*"))
