"""The expected time of the runs a sweep still has to do, priced by finished records."""
import json


from adlip import cli
from adlip.estimates import Estimate, expected_seconds, kind, run_seconds
from adlip.runs import RunConfig


def record(algorithm="dcae", lipschitz=None, seconds=(100.0, 2.0, 8.0), status="ok", profile="full"):
    train, score, lip = seconds
    return {"algorithm": algorithm, "dataset": "mnist", "lipschitz": lipschitz, "profile": profile,
            "status": status, "train_seconds": train, "score_seconds": score, "lip_seconds": lip,
            "machine": "x86_64", "threads": {"cpu_count": 2}}


def config(algorithm="dcae", lipschitz=None, normal_class=0):
    return RunConfig(algorithm, "mnist", normal_class, lipschitz=lipschitz, profile="full", experiment="exp2")


def test_a_run_costs_its_training_scoring_and_bound():
    assert run_seconds(record(seconds=(100.0, 2.0, 8.0))) == 110.0
    assert run_seconds(record(status="failed")) is None
    assert run_seconds({"status": "ok"}) is None


def test_records_and_configurations_of_one_kind_match():
    assert kind(record(lipschitz=2.0)) == kind(config(lipschitz=2.0)) == ("full", "mnist", "dcae", True)
    assert kind(record()) != kind(config(lipschitz=2.0))


def test_runs_with_other_detector_options_are_another_kind():
    """A Björck AnoGAN is not priced by the spectral ones (about 58 times as fast per step)."""
    bjorck = RunConfig("anogan", "mnist", 0, lipschitz=1.0, profile="full", experiment="bjorck",
                       options=(("orthogonalization", "bjorck"),))
    spectral = dict(record("anogan", lipschitz=1.0), config={"options": {}})
    assert kind(bjorck) != kind(spectral) and kind(config("anogan", 1.0)) == kind(spectral)
    timed_bjorck = dict(record("anogan", lipschitz=1.0, seconds=(50000.0, 1000.0, 500.0)),
                        config={"options": {"orthogonalization": "bjorck"}})
    assert kind(timed_bjorck) == kind(bjorck)
    assert expected_seconds([bjorck], [spectral]).unpriced == 1
    assert expected_seconds([bjorck], [spectral, timed_bjorck]).seconds == 51500.0


def test_runs_are_priced_at_the_median_of_their_kind():
    records = [record(seconds=(s, 0, 0)) for s in (100.0, 300.0, 1000.0)] + [record(lipschitz=2.0, seconds=(50.0, 0, 0))]
    estimate = expected_seconds([config(normal_class=c) for c in range(4)] + [config(lipschitz=5.0)], records)
    assert estimate.seconds == 4 * 300.0 + 50.0
    assert (estimate.priced, estimate.unpriced, estimate.basis) == (5, 0, 4)
    assert estimate.machines == ("x86_64, 2 cores",)


AVX2 = {"model": "Intel Xeon", "features": ["sse4_2", "avx", "fma", "avx2"]}
AVX512 = {"model": "AMD EPYC", "features": ["sse4_2", "avx", "fma", "avx2", "avx512f", "avx512_bf16"]}


def test_a_kind_this_processor_has_timed_is_priced_by_its_own_runs_only():
    records = ([dict(record(seconds=(s, 0, 0)), cpu=AVX2) for s in (4000.0, 4200.0)]
               + [dict(record(seconds=(1000.0, 0, 0)), cpu=AVX512)]
               + [dict(record("anogan", seconds=(3000.0, 0, 0)), cpu=AVX2)]
               + [dict(record(lipschitz=2.0), cpu=AVX512)])       # a kind not asked for: not in the basis
    configs = [config(normal_class=1), config("anogan")]
    here = expected_seconds(configs, records, processor=AVX512)
    assert here.seconds == 1000.0 + 3000.0        # dcae from the EPYC's run, anogan from the only one there is
    assert here.basis == 2
    assert here.machines == ("x86_64 (AMD EPYC, avx512_bf16), 2 cores", "x86_64 (Intel Xeon, avx2), 2 cores")
    assert expected_seconds(configs, records).seconds == 4000.0 + 3000.0    # median of all three dcae runs
    assert expected_seconds(configs, records, processor=dict(AVX512, model="other")).seconds == 7000.0


def test_a_kind_without_a_finished_run_is_counted_not_guessed():
    estimate = expected_seconds([config(), config("anogan")], [record(), record("anogan", status="failed")])
    assert (estimate.priced, estimate.unpriced) == (1, 1)
    assert "1 runs of kinds not yet measured are not counted" in estimate.describe()
    assert "run one of each kind first" in expected_seconds([config()], []).describe()


def test_the_description_gives_hours_per_worker_and_in_parallel():
    text = Estimate(seconds=7200.0, priced=4, unpriced=0, basis=9, machines=("x86_64, 2 cores",)).describe(2)
    assert text == ("about 2.0 h of one worker for 4 runs (about 1.0 h with 2 workers), at the median time of "
                    "9 finished runs of the same kind made on x86_64, 2 cores")


def test_a_dry_run_says_how_long_the_rest_should_take(tmp_path, capsys):
    finished = config(normal_class=0)
    rec = dict(record(seconds=(3600.0, 0.0, 0.0)), run_id=finished.run_id, experiment="exp2", normal_class=0,
               seed=0)
    (tmp_path / f"{finished.run_id}.jsonl").write_text(json.dumps(rec) + "\n")
    code = cli.main(["sweep", "--experiment", "exp2", "--profile", "full", "--dataset", "mnist", "--seed", "0",
                     "--algorithm", "dcae", "--normal-class", "0", "--normal-class", "1", "--out", str(tmp_path), "--dry-run",
                     "--workers", "1"])
    assert code == 0
    err = capsys.readouterr().err
    assert "expected: about" in err and "h of one worker" in err
