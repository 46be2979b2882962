"""The data keys: one per patient, stored only wrapped under a key-encryption key."""

from datetime import datetime

from sqlalchemy import DateTime, Index, LargeBinary, String
from sqlmodel import Column, Field, SQLModel

ID_LEN = 64


class PatientKey(SQLModel, table=True):
    """A patient's data key, wrapped by the KEK version kek_id. Deleting the row destroys
    the key: nothing sealed under it opens again."""

    __tablename__ = "patient_key"
    __table_args__ = (Index("ix_patient_key_kek_id", "kek_id"),)

    patient_id: str = Field(sa_column=Column(String(ID_LEN), primary_key=True))
    key_id: str = Field(sa_type=String(32), unique=True)
    kek_id: str = Field(sa_type=String(ID_LEN))
    wrapped: bytes = Field(sa_type=LargeBinary)
    created_at: datetime = Field(sa_type=DateTime(timezone=True))
