"""All models share one DynamoDB connection (one client per container), and every model's
table schema is known to it, without any call to DynamoDB having been made first."""


def test_every_model_uses_one_connection_that_knows_every_table():
    from chalicelib.adapters.dynamodb import models

    for model in models.ALL_MODELS:
        model._connection = None
    models.share_one_connection()
    models.share_one_connection()  # twice is harmless

    connections = {id(m._get_connection().connection) for m in models.ALL_MODELS}
    assert len(connections) == 1
    shared = models.ALL_MODELS[0]._get_connection().connection
    for model in models.ALL_MODELS:
        assert shared.get_meta_table(model.Meta.table_name).table_name == model.Meta.table_name
