"""Reference data from Chong, Ruff, Kloft and Binder (2020), typed in by hand from the paper: never an adlip result."""

PAPER = ("Chong, Ruff, Kloft & Binder (2020), Simple and effective prevention of mode collapse in deep "
         "one-class classification")
# The paper's names for the four models it compares, keyed by (bias, regularizer).
PAPER_MODEL_NAMES = {(False, "none"): "D. SVDD", (True, "none"): "D. SVDD w/ bias",
                     (True, "noise"): "D. SVDD w/ bias & noise reg.",
                     (True, "variance"): "D. SVDD w/ bias & variance reg."}
# Table III (unsupervised, one-class mode) and Table VI (semi-supervised, one-class mode): CIFAR-10
# one-vs-all ROC-AUC in percent, mean and standard deviation over the ten normal classes.
PAPER_CIFAR10_ONE_VS_ALL = {
    "unsupervised": {"D. SVDD": (67.9, 6.5), "D. SVDD w/ bias": (67.7, 6.1),
                     "D. SVDD w/ bias & noise reg.": (68.6, 6.4), "D. SVDD w/ bias & variance reg.": (67.6, 5.2)},
    "semi-supervised": {"D. SVDD": (80.9, 6), "D. SVDD w/ bias": (80.8, 6),
                        "D. SVDD w/ bias & noise reg.": (81.2, 6), "D. SVDD w/ bias & variance reg.": (80.0, 6)},
}
# Section V-B of the paper: its training settings (also reference data).
PAPER_SETTINGS = dict(network="ImageNet-pretrained ResNet-18 (fine-tuned, no autoencoder pretraining)",
                      optimizer="Adam", learning_rate=1e-4, head_learning_rate=1e-3, weight_decay=5e-4,
                      batch_size=50, epochs="30, best epoch chosen on a validation set", c0=0.0, alpha=0.9,
                      beta=0.5, n_random_labels="grid search over 5, 30, 50, 60, 70, 100, 130, 200",
                      variance_threshold=0.1, threshold_every=3)
