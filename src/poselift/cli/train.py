"""``poselift train`` and ``poselift model-info``: their flags are made from the settings'
one declaration (:class:`poselift.config.TrainConfig`, :class:`poselift.models.temporal.ModelConfig`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ..checks import dumps
from ..errors import PoseliftError
from .flags import HelpFormatter, add_setting_flags, flag_map, given_settings


def _configs():
    from ..config import GROUPS, TrainConfig
    from ..models.config import ModelConfig

    return GROUPS, TrainConfig, ModelConfig


def add_model_info_parser(sub) -> None:
    _, _, ModelConfig = _configs()
    s = sub.add_parser("model-info", formatter_class=HelpFormatter,
                       help="parameters, receptive field and FLOPs of an architecture")
    add_setting_flags(s, ModelConfig, only={"model"})
    s.set_defaults(func=cmd_model_info)


def cmd_model_info(a) -> int:
    from ..models.temporal import ModelConfig, model_info

    cfg = ModelConfig(**given_settings(a, ModelConfig))
    print(dumps(model_info(cfg)))
    return 0


def add_train_parser(sub) -> None:
    GROUPS, TrainConfig, _ = _configs()
    s = sub.add_parser("train", formatter_class=HelpFormatter, help="train a lifter",
                       description="Train a lifter. Settings come from TrainConfig's defaults (shown below), "
                                   "then the --config file, then the flags given.")
    s.add_argument("--config", metavar="TOML", help="TOML file of settings (flags override it)")
    groups = {title: s.add_argument_group(title, text) for title, text in GROUPS.items()}
    add_setting_flags(s, TrainConfig, groups)
    g = groups["run folder and output"]
    g.add_argument("--resume", action="store_true", help="continue the run in the checkpoint folder")
    g.add_argument("--overwrite", action="store_true", help="restart a run in a used checkpoint folder")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    s.set_defaults(func=cmd_train)


def train_flags() -> dict[str, str]:
    """argparse dest -> TrainConfig field, for the train flags of training settings."""
    _, TrainConfig, _ = _configs()
    return {dest: name for dest, name in flag_map(TrainConfig).items() if "." not in name}


def model_flags() -> dict[str, str]:
    """argparse dest -> ModelConfig field (train: the [model] table)."""
    _, _, ModelConfig = _configs()
    return flag_map(ModelConfig)


def train_config(a):
    """The run's settings: TrainConfig's defaults, then the --config file, then the flags given
    (each a setting's flag: :func:`.flags.given_settings`); checked."""
    from ..config import TrainConfig, load_toml, merge

    base = load_toml(a.config) if a.config else {}
    over = given_settings(a, TrainConfig)
    model_over = over.get("model", {})
    if model_over:
        from ..models.config import ModelConfig

        ModelConfig.from_dict(model_over)  # the flags together (e.g. too big a model): their own error
    try:  # flags are checked as they are read: what is wrong here comes from the config file
        cfg = TrainConfig.from_dict(merge(base, over))
        cfg.check_numbers()
    except PoseliftError as e:
        raise PoseliftError(e.message, e.path or a.config) from None
    if cfg.init:  # fine-tuning: the checkpoint's model settings, unless the flags or the file give them
        from ..train.supervised import init_model_config

        if cfg.init == "default":
            from ..infer import default_checkpoint

            cfg.init = str(default_checkpoint(cfg.input_layout))
        init_model_config(cfg, keep=set(model_over) | set(base.get("model") or {}))
    cfg.validate()
    return cfg


def cmd_train(a) -> int:
    cfg = train_config(a)
    ckdir = Path(cfg.checkpoint_dir)
    for above in (ckdir, *ckdir.parents):  # -c naming a file (or a folder inside one)
        if above.exists():
            if not above.is_dir():
                raise PoseliftError("is a file, not a folder for the run's checkpoints (-c/--checkpoint-dir)",
                                    above)
            break
    from ..train.run_folder import run_folder

    # the folder checked (new, empty, or a run to resume or restart), locked, a killed run's leftovers removed
    with run_folder(ckdir, resume=a.resume, overwrite=a.overwrite, lock=os.environ.get("RANK", "0") == "0"):
        return _train(a, cfg, ckdir)


def _train(a, cfg, ckdir: Path) -> int:
    """``poselift train`` in its checked (and, in the main process, locked) run folder."""
    from ..train import distributed
    from ..train.semi import make_trainer

    ctx = distributed.setup(cfg.device)  # torchrun: join the process group
    if ctx:
        distributed.barrier()  # every process has checked the folder before anyone writes to it
    main_process = ctx is None or ctx.main
    trainer = make_trainer(cfg, progress=not a.quiet and main_process)
    resumed = a.resume and trainer.resume()  # every process loads the checkpoint
    if resumed and main_process:
        print(f"resuming at epoch {trainer.state.epoch + 1}, batch {trainer.state.batch}, "
              f"{trainer.state.drawn:,} clips drawn", file=sys.stderr)
    if main_process:
        print(f"training on {trainer.sampler.num_frames:,} frames in {len(trainer.data)} sequences; "
              f"{len(trainer.sampler):,} clips per epoch; budget {trainer.total:,} clips "
              f"({trainer.n_epochs} epoch(s) planned)", file=sys.stderr)
    if cfg.semi_supervised:
        print(f"semi-supervised: {trainer.unlabeled.num_frames:,} unlabeled frames in {len(trainer.unlabeled_data)} "
              f"sequences; warm-up {cfg.warmup} epoch(s)", file=sys.stderr)
    state = trainer.train()  # config.json is written with each checkpoint (Trainer.save)
    if ctx:
        distributed.finish()
    if main_process:
        last = state.history[-1] if state.history else {}
        print(dumps({"checkpoint": str(ckdir / "model.safetensors"), "clips": state.drawn,
                     "final_loss_mm": last.get("loss_mm")}))
    return 0
