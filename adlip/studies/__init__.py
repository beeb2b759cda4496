"""Studies: what the book's chapters run with the detectors, at a profile's budget.

Every study is a :class:`~adlip.studies.base.Study` (a grid of runs per profile, run -> record, a
folder of records under ``results/<study>/<profile>/``) with a
:class:`~adlip.studies.base.StudyBudget` that says what it costs per profile; the estimators in
:mod:`adlip.detectors` know none of that. The thesis's experiments are :mod:`adlip.experiments`;
here are the companion papers' chapters (``regsvdd``, ``hkr``, ``vae``, ``realnvp``), the attacks
and certificates (``attacks``), gradient-norm-preserving layers (``gnp``), the decoder question
(``decoders``), the Lipschitz GAN's mode collapse (``mode-collapse``), the Lipschitz Deep SVDD's
bound against its center (``center-norm``) and its ROC-AUC through training with and without the
DCAE pretraining (``pretraining``), and the standard AnoGAN's latent search varied on one trained GAN
(``latent-search``). :mod:`adlip.studies.catalog` finds any of them by name
(``python -m adlip study --list``).
"""
