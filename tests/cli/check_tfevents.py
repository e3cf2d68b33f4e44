#!/usr/bin/python3
"""Reads the TensorBoard event files of wdlab run directories independently of wdlab's writer and
checks them against each run's metrics.jsonl.

The records are unframed and every CRC checked here (a CRC-32C of its own);
the events are decoded by Debian's python3-protobuf with message classes built at run time from a
descriptor that restates TensorBoard's event.proto and summary.proto (tensorflow/tensorboard,
tensorboard/compat/proto/): Event {double wall_time = 1; int64 step = 2; string file_version = 3;
Summary summary = 5; SessionLog session_log = 7}, Summary {repeated Value value = 1},
Value {string tag = 1; float simple_value = 2}, SessionLog {int32 status = 1 (START = 1)}.

Checked per run directory: every record's two CRCs; the first event of every file is
file_version "brain.Event:2"; wall times are real (within the last week, never decreasing in a
file); after applying TensorBoard's restart rule (a SessionLog START at step s drops the points
loaded before it at steps >= s) *and* reading the files naively without it, the scalar points are
exactly metrics.jsonl's numbers in order: same steps, tag per key as below, values as float32, a
tag once per step (both rows of an evaluated step hold "tokens"); no (step, tag) twice.

Usage: check_tfevents.py RUN_DIR...   (exit 0: all good; 1: a mismatch, printed; 2: usage)
"""
import json
import math
import os
import struct
import sys
import time

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

TAGS = {
    "train_loss": "train/loss", "z_loss": "train/z_loss", "aux_loss": "train/aux_loss",
    "diverged": "train/diverged", "val_loss": "val/loss", "val_minus_floor": "val/minus_floor",
    "norm_decay": "norm_group/decay", "norm_no_decay": "norm_group/no_decay",
    "wd_step": "decay/step_size", "wd_budget": "decay/budget", "tokens": "progress/tokens",
    "tokens_per_s": "progress/tokens_per_s", "time_s": "progress/time_s",
}


def tag_of(key):
    return TAGS.get(key, key.replace(".", "/"))


def _crc_of_byte(b):
    for _ in range(8):
        b = (b >> 1) ^ 0x82F63B78 if b & 1 else b >> 1
    return b


_CRC_TABLE = [_crc_of_byte(b) for b in range(256)]


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _CRC_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked(crc):
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def event_class():
    f = descriptor_pb2.FileDescriptorProto(name="wdlab_test_event.proto", package="tbtest",
                                           syntax="proto3")
    T = descriptor_pb2.FieldDescriptorProto
    def message(name, fields):
        m = f.message_type.add(name=name)
        for fname, number, ftype, label, type_name in fields:
            field = m.field.add(name=fname, number=number, type=ftype, label=label)
            if type_name:
                field.type_name = type_name
    opt, rep = T.LABEL_OPTIONAL, T.LABEL_REPEATED
    message("Value", [("tag", 1, T.TYPE_STRING, opt, None),
                      ("simple_value", 2, T.TYPE_FLOAT, opt, None)])
    message("Summary", [("value", 1, T.TYPE_MESSAGE, rep, ".tbtest.Value")])
    message("SessionLog", [("status", 1, T.TYPE_INT32, opt, None)])
    message("Event", [("wall_time", 1, T.TYPE_DOUBLE, opt, None),
                      ("step", 2, T.TYPE_INT64, opt, None),
                      ("file_version", 3, T.TYPE_STRING, opt, None),
                      ("summary", 5, T.TYPE_MESSAGE, opt, ".tbtest.Summary"),
                      ("session_log", 7, T.TYPE_MESSAGE, opt, ".tbtest.SessionLog")])
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    desc = pool.FindMessageTypeByName("tbtest.Event")
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(desc)
    return message_factory.MessageFactory(pool).GetPrototype(desc)


Event = event_class()


class Mismatch(Exception):
    pass


def read_records(path):
    data = open(path, "rb").read()
    at, records = 0, []
    while at < len(data):
        if len(data) - at < 12:
            raise Mismatch(f"{path}: {len(data) - at} stray bytes at byte {at}")
        header = data[at:at + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack("<I", data[at + 8:at + 12])
        if length_crc != masked(crc32c(header)):
            raise Mismatch(f"{path}: byte {at}: length CRC {length_crc:#x} != "
                           f"{masked(crc32c(header)):#x}")
        body = data[at + 12:at + 12 + length]
        if len(body) != length or len(data) < at + 16 + length:
            raise Mismatch(f"{path}: byte {at}: record cut short")
        (data_crc,) = struct.unpack("<I", data[at + 12 + length:at + 16 + length])
        if data_crc != masked(crc32c(body)):
            raise Mismatch(f"{path}: byte {at}: data CRC {data_crc:#x} != "
                           f"{masked(crc32c(body)):#x}")
        event = Event()
        event.ParseFromString(body)
        records.append(event)
        at += 16 + length
    return records


def float32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def expected_points(run_dir):
    """The (step, {tag: value}) events metrics.jsonl calls for: a tag once per step (the
    training and evaluation rows of a step both hold "tokens")."""
    points, seen = [], set()
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        for line in f:
            row = json.loads(line)
            values = {}
            for key, v in row.items():
                if key == "step" or v is None or (row["step"], tag_of(key)) in seen:
                    continue
                seen.add((row["step"], tag_of(key)))
                values[tag_of(key)] = float32(float(v))
            if values:
                points.append((row["step"], values))
    return points


def check_run(run_dir):
    files = sorted(n for n in os.listdir(run_dir) if n.startswith("events.out.tfevents."))
    if not files:
        raise Mismatch(f"{run_dir}: no events.out.tfevents.* file")
    now = time.time()
    purged, naive, starts = [], [], 0
    for name in files:
        path = os.path.join(run_dir, name)
        events = read_records(path)
        if not events or events[0].file_version != "brain.Event:2":
            raise Mismatch(f"{path}: the first event is not file_version brain.Event:2")
        last_wall = 0.0
        for e in events:
            if not (now - 7 * 86400 < e.wall_time <= now + 60) or e.wall_time < last_wall:
                raise Mismatch(f"{path}: step {e.step}: wall_time {e.wall_time} is not real time")
            last_wall = e.wall_time
            if e.HasField("session_log") and e.session_log.status == 1:
                starts += 1
                purged = [p for p in purged if p[0] < e.step]
            if e.HasField("summary"):
                values = {v.tag: v.simple_value for v in e.summary.value}
                if len(values) != len(e.summary.value):
                    raise Mismatch(f"{path}: step {e.step}: a tag twice in one event")
                purged.append((e.step, values))
                naive.append((e.step, values))
    expected = expected_points(run_dir)
    for what, got in (("with TensorBoard's restart rule", purged), ("read naively", naive)):
        seen = set()
        for step, values in got:
            for tag in values:
                if (step, tag) in seen:
                    raise Mismatch(f"{run_dir} ({what}): step {step} {tag} appears twice")
                seen.add((step, tag))
        if len(got) != len(expected):
            raise Mismatch(f"{run_dir} ({what}): {len(got)} scalar events, metrics.jsonl has "
                           f"{len(expected)} rows")
        for i, ((step, values), (row_step, row)) in enumerate(zip(got, expected)):
            if step != row_step or values.keys() != row.keys():
                raise Mismatch(f"{run_dir} ({what}): event {i}: step {step} tags {sorted(values)}"
                               f" != metrics.jsonl line {i + 1}: step {row_step} {sorted(row)}")
            for tag, v in values.items():
                if not (v == row[tag] or (math.isnan(v) and math.isnan(row[tag]))):
                    raise Mismatch(f"{run_dir}: step {step} {tag}: {v} != {row[tag]}")
    npoints = sum(len(v) for _, v in purged)
    print(f"{run_dir}: {len(files)} file(s), {len(purged)} events, {npoints} points "
          f"({len({t for _, v in purged for t in v})} tags), {starts} restart(s): "
          f"match metrics.jsonl")


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    assert crc32c(b"123456789") == 0xE3069283  # the CRC catalogue's check value
    try:
        for run_dir in sys.argv[1:]:
            check_run(run_dir)
    except Mismatch as e:
        print(f"MISMATCH: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
