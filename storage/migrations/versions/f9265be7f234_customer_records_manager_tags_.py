"""customer records: manager, tags, households, updated_at; customer_event

Revision ID: f9265be7f234
Revises: ae12007c19f2
Create Date: 2026-11-25 03:36:49.812445

Customer records for the ledger (台账) import: the responsible manager, managers' tags, households of a
residential community, and updated_at. `tags` is NOT NULL with server_default '[]', so existing rows read as
"no tags"; the other new columns are nullable. customer_event is the audit trail (created, updated, deleted,
erased, imported); it names changed fields, never their values.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = 'f9265be7f234'
down_revision = 'ae12007c19f2'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('customer_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customer.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('customer_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_event_customer_id'), ['customer_id'], unique=False)

    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('households', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('manager_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('tags', sa.JSON(), server_default='[]', nullable=False))
        batch_op.add_column(sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_customer_manager_id'), ['manager_id'], unique=False)
        batch_op.create_foreign_key('fk_customer_manager_id_staff', 'staff', ['manager_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_constraint('fk_customer_manager_id_staff', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_customer_manager_id'))
        batch_op.drop_column('updated_at')
        batch_op.drop_column('tags')
        batch_op.drop_column('manager_id')
        batch_op.drop_column('households')

    with op.batch_alter_table('customer_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_event_customer_id'))

    op.drop_table('customer_event')
