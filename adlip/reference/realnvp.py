"""Reference data from Liu, Tan and Zhou (2022), typed in by hand from the paper: never an adlip result."""

# Table 2: ROC-AUC on CIFAR-10 one-vs-rest with 10% training anomalies, mean and standard deviation
# over 5 seeds, on 128-d PCA of VGG19 ImageNet features. "uniform": anomalies drawn from all other
# classes; "clustered": all from one other class (the paper does not say which).
PAPER_CIFAR10_AUC = {
    "uniform": {
        "airplane": {"RobustRealNVP": (0.786, 0.012), "RealNVP": (0.784, 0.012)},
        "automobile": {"RobustRealNVP": (0.818, 0.028), "RealNVP": (0.782, 0.022)},
        "bird": {"RobustRealNVP": (0.694, 0.070), "RealNVP": (0.691, 0.062)},
        "cat": {"RobustRealNVP": (0.772, 0.077), "RealNVP": (0.726, 0.076)},
        "deer": {"RobustRealNVP": (0.801, 0.006), "RealNVP": (0.781, 0.033)},
        "dog": {"RobustRealNVP": (0.760, 0.044), "RealNVP": (0.704, 0.050)},
        "frog": {"RobustRealNVP": (0.807, 0.022), "RealNVP": (0.797, 0.007)},
        "horse": {"RobustRealNVP": (0.786, 0.013), "RealNVP": (0.769, 0.057)},
        "ship": {"RobustRealNVP": (0.798, 0.006), "RealNVP": (0.802, 0.009)},
        "truck": {"RobustRealNVP": (0.770, 0.033), "RealNVP": (0.838, 0.027)},
    },
    "clustered": {
        "airplane": {"RobustRealNVP": (0.752, 0.018), "RealNVP": (0.748, 0.023)},
        "automobile": {"RobustRealNVP": (0.850, 0.020), "RealNVP": (0.843, 0.014)},
        "bird": {"RobustRealNVP": (0.640, 0.025), "RealNVP": (0.639, 0.030)},
        "cat": {"RobustRealNVP": (0.462, 0.017), "RealNVP": (0.451, 0.027)},
        "deer": {"RobustRealNVP": (0.825, 0.019), "RealNVP": (0.808, 0.009)},
        "dog": {"RobustRealNVP": (0.500, 0.021), "RealNVP": (0.487, 0.023)},
        "frog": {"RobustRealNVP": (0.826, 0.015), "RealNVP": (0.788, 0.020)},
        "horse": {"RobustRealNVP": (0.575, 0.023), "RealNVP": (0.550, 0.025)},
        "ship": {"RobustRealNVP": (0.671, 0.025), "RealNVP": (0.653, 0.023)},
        "truck": {"RobustRealNVP": (0.657, 0.030), "RealNVP": (0.664, 0.013)},
    },
}
# Table 1, row "mnist": the ODDS benchmark's MNIST (digit 0 normal, digit 6 outliers, 100 features
# chosen by ODDS), 5 seeds. Not the one-vs-rest protocol of adlip; shown for orientation only.
PAPER_ODDS_MNIST_AUC = {"RobustRealNVP": (0.818, 0.009), "RealNVP": (0.820, 0.015)}
