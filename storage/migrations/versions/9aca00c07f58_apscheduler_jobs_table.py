"""apscheduler jobs table (the notice scheduler's persistent job store)

Revision ID: 9aca00c07f58
Revises: 536a1050877c
Create Date: 2026-11-25 03:10:00.000000

The table is APScheduler 3's own (apscheduler.jobstores.sqlalchemy.SQLAlchemyJobStore, tablename
"apscheduler_jobs"), column for column, so the job store finds it and never needs CREATE rights at run
time. It is not a SQLModel table: env.py and the migration test leave it out of the model comparison, and
tests/scheduler/test_notice_schedule.py checks it still matches what APScheduler expects.
"""
from alembic import op
import sqlalchemy as sa


revision = '9aca00c07f58'
down_revision = '536a1050877c'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('apscheduler_jobs',
    sa.Column('id', sa.Unicode(length=191), nullable=False),
    sa.Column('next_run_time', sa.Float(precision=25), nullable=True),
    sa.Column('job_state', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_apscheduler_jobs_next_run_time', 'apscheduler_jobs', ['next_run_time'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_apscheduler_jobs_next_run_time', table_name='apscheduler_jobs')
    op.drop_table('apscheduler_jobs')
