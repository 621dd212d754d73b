"""subscriptions to notices (供电信息订阅)

Revision ID: e0cb512090cb
Revises: 9aca00c07f58
Create Date: 2026-11-25 02:36:52.678046

A new table only: no column is added to an existing one, so no server defaults are needed. A subscription
names exactly one target (a 台区 or a 户号, checked); each kind of target has its own unique constraint,
because NULLs never collide in one.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = 'e0cb512090cb'
down_revision = '9aca00c07f58'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('subscription',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('chat_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('area_id', sa.Integer(), nullable=True),
    sa.Column('account_no', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('cancelled_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.CheckConstraint('(area_id IS NULL) <> (account_no IS NULL)', name='ck_subscription_one_target'),
    sa.ForeignKeyConstraint(['area_id'], ['area.id'], name='fk_subscription_area_id'),
    sa.PrimaryKeyConstraint('id', name='pk_subscription'),
    sa.UniqueConstraint('platform', 'user_id', 'account_no', name='uq_subscription_user_account'),
    sa.UniqueConstraint('platform', 'user_id', 'area_id', name='uq_subscription_user_area')
    )
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subscription_account_no'), ['account_no'], unique=False)
        batch_op.create_index(batch_op.f('ix_subscription_area_id'), ['area_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subscription_area_id'))
        batch_op.drop_index(batch_op.f('ix_subscription_account_no'))

    op.drop_table('subscription')
