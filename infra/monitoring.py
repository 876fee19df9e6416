"""Alarms and the CloudWatch dashboard. docs/operations.md says what each alarm means and what
to do; the alarm descriptions carry the short version, so a page is readable on a phone."""
from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.metrics import NAMESPACE, SERVICE_DIMENSION, emitted_metrics
from infra.stages import API_GATEWAY_STAGE, StageSettings
from infra.tables import Table

FIVE_MINUTES = Duration.minutes(5)
ONE_MINUTE = Duration.minutes(1)

# Dashboard groups of business metrics; any emitted name not listed lands in "Other app metrics".
BUSINESS_GROUPS = (
    ("Spaces", ("SpaceCreated", "SpaceStarted", "SpaceEnded", "SpaceCanceled")),
    (
        "Joins and leaves",
        ("ListenerJoined", "SpeakerJoined", "ParticipantLeft", "ParticipantTimedOut", "ParticipantCountsFolded"),
    ),
    ("Pushes", ("PushSent", "PushFailed", "DeviceDisabled", "ReminderMomentFired", "ReminderSet", "DeviceRegistered")),
    (
        "On stage",
        (
            "HandRaised", "SpeakerRequestApproved", "SpeakerInvited", "SpeakerAdded", "SpeakerRemoved",
            "SpeakerMuted", "CohostAdded", "CohostRemoved", "ParticipantRemoved",
        ),
    ),
    ("Room events", ("ReactionSent", "ChatMessageDenied", "RoomEventFailed", "OrphanRoomDeleted")),
    ("Overflow audiences", ("OverflowStarted", "OverflowRestarted", "PlaybackListenerJoined")),
    ("Followers", ("UserFollowed", "UserUnfollowed")),
    (
        "Recording and replays",
        (
            "RecordingStarted", "RecordingStopped", "RecordingConsentGiven", "RecordingConsentWithdrawn",
            "ReplayAvailable", "ReplayServed", "ReplayDeleted", "ClipCreated", "ClipCut", "TranscriptReady", "CaptionPosted",
        ),
    ),
    (
        "Tickets and subscriptions",
        (
            "TicketHeld", "TicketSold", "TicketSoldOut", "TicketHoldReleased", "TicketHoldExpired", "TicketRefunded",
            "SubscriptionStarted",
        ),
    ),
    (
        "IVS control plane (stage pool, queued calls)",
        ("StagePoolHit", "StagePoolEmpty", "StagePoolRefilled", "MediaCallDrained", "MediaCallAbandoned"),
    ),
    (
        "Things that went wrong",
        (
            "StageReleaseDeferred", "RoomReleaseDeferred", "DisconnectFailed", "AnnounceFailed", "OutcomeUnknown",
            "ReplaySegmentMissing", "ReplayFailed", "TranscriptFailed", "LatePaymentRefunded", "OrphanPaymentRefunded",
            "OverflowStartFailed", "OverflowReleaseDeferred",
        ),
    ),
)


@dataclass
class Monitored:
    """What the stack hands over to be watched."""

    function_names: dict[str, str]  # logical id -> function name
    dead_letter_queues: dict[str, sqs.Queue]  # "fanout" / "push" / "schedules" / "count-fold" -> DLQ
    tables: dict[str, Table]
    schedule_group: scheduler.ScheduleGroup
    # Functions fed by a DynamoDB stream (logical id -> function name): their IteratorAge is how
    # far behind the table they are.
    stream_consumers: dict[str, str]
    max_iterator_age_s: int


def _iterator_age(function_name: str, label: str | None = None) -> cw.Metric:
    # The age of the last record of each batch when it reached the function: its Maximum per
    # minute is how far behind the stream the consumer is.
    return cw.Metric(
        namespace="AWS/Lambda",
        metric_name="IteratorAge",
        dimensions_map={"FunctionName": function_name},
        statistic="Maximum",
        period=ONE_MINUTE,
        label=label,
    )


def _business(name: str, period: Duration = FIVE_MINUTES) -> cw.Metric:
    return cw.Metric(
        namespace=NAMESPACE, metric_name=name, dimensions_map=SERVICE_DIMENSION, statistic="Sum", period=period, label=name
    )


class Monitoring(Construct):
    def __init__(self, scope: Construct, id: str, *, settings: StageSettings, watched: Monitored):
        super().__init__(scope, id)
        self.settings = settings
        self.topic = sns.Topic(
            self, "AlarmTopic", topic_name=f"{settings.prefix}-alarms", display_name=f"{settings.prefix} alarms",
            enforce_ssl=True,
        )
        if settings.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(settings.alarm_email))
        self.alarms: list[cw.Alarm] = []
        self._api_alarm()
        for logical_id, function_name in watched.function_names.items():
            self._lambda_alarms(logical_id, function_name)
        for logical_id, function_name in watched.stream_consumers.items():
            self._iterator_age_alarm(logical_id, function_name, watched.max_iterator_age_s)
        for name, queue in watched.dead_letter_queues.items():
            self._dlq_alarm(name, queue)
        for suffix, table in watched.tables.items():
            self._table_alarm(suffix, table)
        self._schedule_alarms(watched.schedule_group)
        self.dashboard = self._dashboard(watched)

    # ------------------------------------------------------------------ alarms

    def _alarm(self, id: str, *, metric: cw.IMetric, threshold: float, periods: int, description: str) -> cw.Alarm:
        alarm = cw.Alarm(
            self,
            id,
            alarm_name=f"{self.settings.prefix}-{id}",
            metric=metric,
            threshold=threshold,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            alarm_description=f"{description} See docs/operations.md#alarms.",
        )
        alarm.add_alarm_action(cw_actions.SnsAction(self.topic))
        self.alarms.append(alarm)
        return alarm

    @property
    def api_dimensions(self) -> dict[str, str]:
        return {"ApiName": self.settings.prefix, "Stage": API_GATEWAY_STAGE}

    def _api_alarm(self) -> None:
        rate = cw.Metric(
            namespace="AWS/ApiGateway",
            metric_name="5XXError",
            dimensions_map=self.api_dimensions,
            statistic="Average",  # 5XXError is 0 or 1 per request: its average is the error rate
            period=ONE_MINUTE,
        )
        self._alarm(
            "api-5xx-rate",
            metric=rate,
            threshold=self.settings.api_5xx_rate,
            periods=self.settings.api_5xx_periods,
            description=(
                f"More than {self.settings.api_5xx_rate:.0%} of API requests answered 5xx for "
                f"{self.settings.api_5xx_periods} minutes in a row (503s are a dependency failing: IVS, DynamoDB, SNS, Scheduler)."
            ),
        )

    def _lambda_alarms(self, logical_id: str, function_name: str) -> None:
        dims = {"FunctionName": function_name}
        self._alarm(
            f"{logical_id}-errors",
            metric=cw.Metric(namespace="AWS/Lambda", metric_name="Errors", dimensions_map=dims, statistic="Sum", period=FIVE_MINUTES),
            threshold=self.settings.lambda_errors_per_5_min,
            periods=1,
            description=f"Lambda {function_name} raised errors (an exception escaped the handler).",
        )
        self._alarm(
            f"{logical_id}-throttles",
            metric=cw.Metric(namespace="AWS/Lambda", metric_name="Throttles", dimensions_map=dims, statistic="Sum", period=FIVE_MINUTES),
            threshold=1,
            periods=1,
            description=f"Lambda {function_name} was throttled: concurrency is exhausted (account or reserved).",
        )

    def _iterator_age_alarm(self, logical_id: str, function_name: str, max_age_s: int) -> None:
        self._alarm(
            f"{logical_id}-iterator-age",
            metric=_iterator_age(function_name),
            threshold=max_age_s * 1000,  # IteratorAge is in milliseconds
            periods=5,
            description=(
                f"Lambda {function_name} has been more than {max_age_s} s behind its stream for 5 minutes "
                "(the count fold: participant counts lag the joins): failing or slow batches, or throttled writes."
            ),
        )

    def _dlq_alarm(self, name: str, queue: sqs.Queue) -> None:
        self._alarm(
            f"{name}-dlq-not-empty",
            metric=queue.metric_approximate_number_of_messages_visible(statistic="Maximum", period=FIVE_MINUTES),
            threshold=1,
            periods=1,
            description=f"A message reached the {name} dead-letter queue: work that failed every retry.",
        )

    def _table_alarm(self, suffix: str, table: Table) -> None:
        def metric(name: str) -> cw.Metric:
            return cw.Metric(
                namespace="AWS/DynamoDB",
                metric_name=name,
                dimensions_map={"TableName": table.name},
                statistic="Sum",
                period=FIVE_MINUTES,
            )

        throttles = cw.MathExpression(
            expression="FILL(r, 0) + FILL(w, 0)",
            using_metrics={"r": metric("ReadThrottleEvents"), "w": metric("WriteThrottleEvents")},
            label=f"{table.name} throttle events",
            period=FIVE_MINUTES,
        )
        self._alarm(
            f"table-{suffix}-throttled",
            metric=throttles,
            threshold=1,
            periods=1,
            description=f"DynamoDB throttled requests on {table.name} (a hot partition key, or on-demand scaling behind a burst).",
        )

    def _schedule_alarms(self, group: scheduler.ScheduleGroup) -> None:
        self._alarm(
            "schedules-dropped",
            metric=group.metric_dropped(statistic="Sum", period=FIVE_MINUTES),
            threshold=1,
            periods=1,
            description="EventBridge Scheduler dropped a reminder delivery after its retries (InvocationDroppedCount).",
        )
        self._alarm(
            "schedules-target-errors",
            metric=group.metric_target_errors(statistic="Sum", period=FIVE_MINUTES),
            threshold=1,
            periods=1,
            description="EventBridge Scheduler could not send a reminder to the fan-out queue (TargetErrorCount).",
        )

    # ------------------------------------------------------------------ dashboard

    def _dashboard(self, watched: Monitored) -> cw.Dashboard:
        emitted = emitted_metrics()
        board = cw.Dashboard(self, "Dashboard", dashboard_name=self.settings.prefix, default_interval=Duration.hours(3))
        board.add_widgets(
            cw.TextWidget(
                markdown=(
                    f"# Spaces ({self.settings.name})\n"
                    f"Business metrics: namespace `{NAMESPACE}`, dimension `service=spaces-api`, one per business event. "
                    "Tickets sold arrive with issue 4 (tickets and payments). Alarms: docs/operations.md."
                ),
                width=24,
                height=2,
            )
        )
        started, ended = _business("SpaceStarted"), _business("SpaceEnded")
        live = cw.MathExpression(
            expression="RUNNING_SUM(FILL(started, 0) - FILL(ended, 0))",
            using_metrics={"started": started, "ended": ended},
            label="Spaces live (started - ended since the start of the range)",
            period=FIVE_MINUTES,
        )
        widgets: list[cw.IWidget] = [cw.GraphWidget(title="Spaces live (approximate)", left=[live], width=8)]
        grouped: set[str] = set()
        for title, names in BUSINESS_GROUPS:
            present = [n for n in names if n in emitted]
            grouped.update(present)
            if present:
                widgets.append(cw.GraphWidget(title=title, left=[_business(n) for n in present], width=8, stacked=False))
        others = [n for n in emitted if n not in grouped]
        if others:
            widgets.append(cw.GraphWidget(title="Other app metrics", left=[_business(n) for n in others], width=8))
        board.add_widgets(*widgets)

        api = {"namespace": "AWS/ApiGateway", "dimensions_map": self.api_dimensions, "period": ONE_MINUTE}
        board.add_widgets(
            cw.GraphWidget(
                title="API requests and errors",
                left=[cw.Metric(metric_name="Count", statistic="Sum", **api)],
                right=[
                    cw.Metric(metric_name="5XXError", statistic="Average", label="5xx rate", **api),
                    cw.Metric(metric_name="4XXError", statistic="Average", label="4xx rate", **api),
                ],
                width=12,
            ),
            cw.GraphWidget(
                title="API latency",
                left=[cw.Metric(metric_name="Latency", statistic=s, label=f"latency {s}", **api) for s in ("p50", "p99")],
                width=12,
            ),
        )
        lambda_metric = lambda name, fn, stat: cw.Metric(  # noqa: E731
            namespace="AWS/Lambda", metric_name=name, dimensions_map={"FunctionName": fn}, statistic=stat,
            period=FIVE_MINUTES, label=f"{fn} {name}",
        )
        fns = list(watched.function_names.values())
        board.add_widgets(
            cw.GraphWidget(title="Lambda errors and throttles", left=[lambda_metric("Errors", f, "Sum") for f in fns],
                           right=[lambda_metric("Throttles", f, "Sum") for f in fns], width=8),
            cw.GraphWidget(title="Lambda duration p99", left=[lambda_metric("Duration", f, "p99") for f in fns], width=8),
            cw.GraphWidget(title="Lambda concurrency", left=[lambda_metric("ConcurrentExecutions", f, "Maximum") for f in fns], width=8),
        )
        board.add_widgets(
            cw.GraphWidget(
                title="Dead-letter queues (messages)",
                left=[q.metric_approximate_number_of_messages_visible(statistic="Maximum", period=FIVE_MINUTES, label=n)
                      for n, q in watched.dead_letter_queues.items()],
                width=8,
            ),
            cw.GraphWidget(
                title="DynamoDB throttle events",
                left=[
                    cw.Metric(namespace="AWS/DynamoDB", metric_name=m, dimensions_map={"TableName": t.name},
                              statistic="Sum", period=FIVE_MINUTES, label=f"{s} {m}")
                    for s, t in watched.tables.items() for m in ("ReadThrottleEvents", "WriteThrottleEvents")
                ],
                width=8,
            ),
            cw.GraphWidget(
                title="Stream consumers: iterator age (ms)",
                left=[_iterator_age(fn, f"{fn} IteratorAge") for fn in watched.stream_consumers.values()],
                width=8,
            ),
            cw.GraphWidget(
                title="Reminder schedules",
                left=[
                    watched.schedule_group.metric_attempts(statistic="Sum", period=FIVE_MINUTES, label="attempts"),
                    watched.schedule_group.metric_target_errors(statistic="Sum", period=FIVE_MINUTES, label="target errors"),
                    watched.schedule_group.metric_dropped(statistic="Sum", period=FIVE_MINUTES, label="dropped"),
                    watched.schedule_group.metric_sent_to_dlq(statistic="Sum", period=FIVE_MINUTES, label="sent to DLQ"),
                ],
                width=8,
            ),
        )
        return board
