"""Tests of scheduler/: the scheduler contract and the Nomad scheduler (nomad/)."""
