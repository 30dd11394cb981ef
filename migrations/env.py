import logging
from logging.config import fileConfig

from flask import current_app
from sqlalchemy import text

from alembic import context

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# Interpret the config file for Python logging, unless the app already set logging up
# (its handler adds the request id; fileConfig would replace it).
if not logging.getLogger().handlers:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger('alembic.env')


def render_item(type_, obj, autogen_context):
    """Render app.core.clock.UTCDateTime as the plain column type it stores."""
    from app.core.clock import UTCDateTime

    if type_ == 'type' and isinstance(obj, UTCDateTime):
        return 'sa.DateTime(timezone=True)'
    return False


def get_engine():
    return current_app.extensions['migrate'].db.engine


def get_engine_url():
    try:
        return get_engine().url.render_as_string(hide_password=False).replace(
            '%', '%%')
    except AttributeError:
        return str(get_engine().url).replace('%', '%%')


# add your model's MetaData object here
# for 'autogenerate' support
# from myapp import mymodel
# target_metadata = mymodel.Base.metadata
config.set_main_option('sqlalchemy.url', get_engine_url())
target_db = current_app.extensions['migrate'].db

# other values from the config, defined by the needs of env.py,
# can be acquired:
# my_important_option = config.get_main_option("my_important_option")
# ... etc.


def get_metadata():
    if hasattr(target_db, 'metadatas'):
        return target_db.metadatas[None]
    return target_db.metadata


def run_migrations_offline():
    """Run migrations in 'offline' mode.

    This configures the context with just a URL
    and not an Engine, though an Engine is acceptable
    here as well.  By skipping the Engine creation
    we don't even need a DBAPI to be available.

    Calls to context.execute() here emit the given string to the
    script output.

    """
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url, target_metadata=get_metadata(), literal_binds=True
    )

    with context.begin_transaction():
        context.run_migrations()


# pg_advisory_lock key serialising `flask db upgrade` across nodes that start together
# (without it two runs collide: UniqueViolation pg_type_typname_nsp_index). Any constant
# works as long as nothing else in the database uses it.
MIGRATION_LOCK_KEY = 0x2F3A_91C4


def _at_head(connection) -> bool:
    """True when an upgrade to head has nothing to do: the database's revisions are the
    scripts' heads. Then no lock is taken and no migration machinery runs (a restarting
    web node pays one SELECT)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    if context.is_offline_mode() or getattr(config.cmd_opts, 'autogenerate', False):
        return False
    try:
        destination = context.get_revision_argument()
    except KeyError:  # `flask db current`, `history`...: no destination
        return False
    heads = set(ScriptDirectory.from_config(config).get_heads())
    # `upgrade` hands env.py its destination resolved ("head" is already the head's id).
    wanted = {destination} if isinstance(destination, str) else set(destination or ())
    if wanted not in ({"head"}, {"heads"}, heads):
        return False
    current = set(MigrationContext.configure(connection).get_current_heads())
    connection.rollback()  # end the read's implicit transaction
    return current == heads


def run_migrations_online():
    """Run migrations in 'online' mode.

    In this scenario we need to create an Engine
    and associate a connection with the context.

    """

    # this callback is used to prevent an auto-migration from being generated
    # when there are no changes to the schema
    # reference: http://alembic.zzzcomputing.com/en/latest/cookbook.html
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, 'autogenerate', False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info('No changes in schema detected.')

    conf_args = current_app.extensions['migrate'].configure_args
    conf_args.setdefault("render_item", render_item)
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives

    connectable = get_engine()

    with connectable.connect() as connection:
        if _at_head(connection):
            logger.info('Database at head: nothing to migrate.')
            return
        locked = connection.dialect.name == 'postgresql'
        if locked:
            # Session-level: held across alembic's transactions, released at the latest
            # when this connection ends (a killed node never leaves it behind).
            connection.execute(text('SELECT pg_advisory_lock(:key)'),
                               {'key': MIGRATION_LOCK_KEY})
            connection.commit()
        try:
            context.configure(
                connection=connection,
                target_metadata=get_metadata(),
                **conf_args
            )

            with context.begin_transaction():
                context.run_migrations()
        finally:
            if locked:
                connection.rollback()
                connection.execute(text('SELECT pg_advisory_unlock(:key)'),
                                   {'key': MIGRATION_LOCK_KEY})
                connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
