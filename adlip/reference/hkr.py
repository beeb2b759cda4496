"""Reference data from Béthune and Serrurier (2022), typed in by hand from the paper: never an adlip result."""

PAPER = ("Béthune & Serrurier (2022), Certifiable metric one class learning with adversarially "
         "trained Lipschitz classifier, NeurIPS ML Safety Workshop")

# Table 1 of the paper: MNIST one-vs-rest, percent, normal classes 0-9. "hkr" rows are the
# paper's own method after 1000 epochs (accuracy at the best threshold on the test set); the
# other rows are the baselines the paper quotes from Ruff et al. (2018).
PAPER_MNIST_TABLE = {
    "hkr_accuracy": (97.26, 99.21, 88.67, 87.50, 91.80, 87.50, 96.48, 91.40, 80.85, 93.35),
    "hkr_auc": (99.44, 99.84, 94.85, 92.94, 95.25, 92.64, 98.25, 97.11, 86.37, 96.54),
    "deepsvdd_auc": (98.0, 99.7, 91.7, 91.9, 94.9, 88.5, 98.3, 94.6, 93.9, 96.5),
    "ocsvm_auc": (98.6, 99.5, 82.5, 88.1, 94.9, 77.1, 96.5, 93.7, 88.9, 93.1),
    "iforest_auc": (98.0, 97.3, 88.6, 89.9, 92.7, 85.5, 95.6, 92.0, 89.9, 93.5),
}
# The paper's experimental settings (appendix "Experimental setting"), also reference data.
PAPER_MNIST_SETTINGS = dict(domain=(-1.0, 1.0), margin="0.02 * sqrt(28 * 28 * 2) = 0.79", hkr_lambda=200.0,
                            batch_size=128, newton_steps=16, epochs=1000, optimizer="Adam (defaults)",
                            network="4 x conv 3x3-128 FullSort with L2-norm pooling, 3 x dense-128 FullSort, "
                                    "dense-1 (Table 2, 872K parameters)")
PAPER_TOY_SETTINGS = dict(domain="ball of radius 5 (standardised data)", margin=0.05, hkr_lambda=100.0,
                          batch_size=256, newton_steps=4, gradient_steps=10_000, optimizer="RMSprop",
                          network="2-512-512-512-512-1, orthogonal matrices",
                          ocsvm="RBF kernel, nu = 0.05, gamma = 1/2", iforest="contamination 0.05")
