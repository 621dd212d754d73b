"""wecom channel: callbacks inbox, group messages and targets, kf chats, state, group owner

Revision ID: 90b675e99ce9
Revises: f9265be7f234
Create Date: 2026-11-25 04:25:54.101586

The WeCom channel's own state: wecom_callback is the inbox of verified callbacks (stored before the
acknowledgement, unique key against WeCom's retries); wecom_group_message/_target follow each 群发 task an
owner must confirm, per group; wecom_kf_chat keeps the 48-hour reply window of 微信客服 chats; wecom_state
holds cursors. chat_group.owner_user_id is nullable: Telegram groups have no owner.
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '90b675e99ce9'
down_revision = 'f9265be7f234'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('wecom_callback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('payload', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('received_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('processed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('wecom_callback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wecom_callback_processed_at'), ['processed_at'], unique=False)

    op.create_table('wecom_kf_chat',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('external_userid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('open_kfid', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('last_customer_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('replies_since', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('external_userid')
    )
    op.create_table('wecom_state',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('value', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    op.create_table('wecom_group_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('msgid', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('sender', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('notice_phase_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('reminded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('checked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('done_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['notice_phase_id'], ['notice_phase.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('msgid')
    )
    with op.batch_alter_table('wecom_group_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wecom_group_message_done_at'), ['done_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_wecom_group_message_notice_phase_id'), ['notice_phase_id'], unique=False)

    op.create_table('wecom_group_target',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_message_id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=True),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['group_message_id'], ['wecom_group_message.id'], ),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox_message.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('wecom_group_target', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wecom_group_target_chat_id'), ['chat_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_wecom_group_target_group_message_id'), ['group_message_id'], unique=False)

    with op.batch_alter_table('chat_group', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner_user_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('chat_group', schema=None) as batch_op:
        batch_op.drop_column('owner_user_id')

    with op.batch_alter_table('wecom_group_target', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wecom_group_target_group_message_id'))
        batch_op.drop_index(batch_op.f('ix_wecom_group_target_chat_id'))

    op.drop_table('wecom_group_target')
    with op.batch_alter_table('wecom_group_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wecom_group_message_notice_phase_id'))
        batch_op.drop_index(batch_op.f('ix_wecom_group_message_done_at'))

    op.drop_table('wecom_group_message')
    op.drop_table('wecom_state')
    op.drop_table('wecom_kf_chat')
    with op.batch_alter_table('wecom_callback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wecom_callback_processed_at'))

    op.drop_table('wecom_callback')
