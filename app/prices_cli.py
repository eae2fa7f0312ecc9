"""`flask prices …`: list model prices and add a new price version."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.providers.catalog import BUILTIN_MODELS, builtin_spec
from app.providers.registry import current_catalog
from app.services.audit import cli_actor_label
from app.services.prices.history import current_prices, price_history, set_price

prices_cli = AppGroup("prices", help="Model prices in credits (100,000 credits = US$1).")


def _spec(model_id: str):
    offered = {s.id: s for s in current_catalog().specs()}
    spec = offered.get(model_id) or builtin_spec(model_id)
    if spec is None:
        raise click.BadParameter(f"unknown model {model_id!r}", param_hint="MODEL")
    return spec


def _rate(value: int | None, unset: str = "=input") -> str:
    """A cache rate for the listings: unset is the input rate (the audio rate: per second)."""
    return unset if value is None else str(value)


@prices_cli.command("list")
@click.option("--all", "show_all", is_flag=True, help="Also models no enabled provider serves.")
def prices_list(show_all: bool) -> None:
    """Current price of each model (version, per-1M-token input/output, the prompt-caching
    rates per 1M cached input and cache-write tokens, per second of video, with audio)."""
    specs = list(current_catalog().specs())
    if show_all:
        specs += [s for s in BUILTIN_MODELS if s.id not in {x.id for x in specs}]
    prices = current_prices(specs)
    click.echo(f"{'model':<22}{'kind':<7}{'price_id':>9}{'input/1M':>12}{'output/1M':>12}"
               f"{'cached/1M':>12}{'write/1M':>12}{'per_second':>12}{'audio/s':>12}")
    for spec in specs:
        price = prices[spec.id]
        click.echo(f"{spec.id:<22}{spec.kind:<7}{price.price_id:>9}"
                   f"{price.input_per_mtok_credits:>12}{price.output_per_mtok_credits:>12}"
                   f"{_rate(price.cached_input_per_mtok_credits):>12}"
                   f"{_rate(price.cache_write_per_mtok_credits):>12}"
                   f"{price.per_second_credits:>12}"
                   f"{_rate(price.per_second_audio_credits, '=second'):>12}")


@prices_cli.command("set")
@click.argument("model")
@click.option("--input-per-mtok", type=click.IntRange(min=0), help="Credits per 1M input tokens.")
@click.option("--output-per-mtok", type=click.IntRange(min=0),
              help="Credits per 1M output tokens.")
@click.option("--cached-input-per-mtok", type=click.IntRange(min=0),
              help="Credits per 1M prompt tokens read from the provider's cache.")
@click.option("--cache-write-per-mtok", type=click.IntRange(min=0),
              help="Credits per 1M prompt tokens written to the provider's cache.")
@click.option("--per-second", type=click.IntRange(min=0), help="Credits per second of video.")
@click.option("--per-second-audio", type=click.IntRange(min=0),
              help="Credits per second of video with audio (models that price audio apart).")
@click.option("--reason", required=True, help="Why the price changes (kept in the history).")
def prices_set(model: str, input_per_mtok: int | None, output_per_mtok: int | None,
               cached_input_per_mtok: int | None, cache_write_per_mtok: int | None,
               per_second: int | None, per_second_audio: int | None, reason: str) -> None:
    """Add a new price version for MODEL; holds already placed keep their version."""
    if all(v is None for v in (input_per_mtok, output_per_mtok, cached_input_per_mtok,
                               cache_write_per_mtok, per_second, per_second_audio)):
        raise click.UsageError("give at least one of --input-per-mtok, --output-per-mtok, "
                               "--cached-input-per-mtok, --cache-write-per-mtok, --per-second, "
                               "--per-second-audio")
    row = set_price(_spec(model), input_per_mtok_credits=input_per_mtok,
                    output_per_mtok_credits=output_per_mtok,
                    cached_input_per_mtok_credits=cached_input_per_mtok,
                    cache_write_per_mtok_credits=cache_write_per_mtok, per_second_credits=per_second,
                    per_second_audio_credits=per_second_audio,
                    reason=reason, actor_id=None, actor_label=cli_actor_label())
    click.echo(f"{model}: version {row.version} (price_id {row.id}): "
               f"input {row.input_per_mtok_credits}/1M, output {row.output_per_mtok_credits}/1M, "
               f"cached input {_rate(row.cached_input_per_mtok_credits)}/1M, "
               f"cache write {_rate(row.cache_write_per_mtok_credits)}/1M, "
               f"{row.per_second_credits}/s, with audio "
               f"{_rate(row.per_second_audio_credits, '=per second')}/s")


@prices_cli.command("history")
@click.argument("model")
def prices_history(model: str) -> None:
    """Every price version of MODEL, oldest first."""
    _spec(model)
    for row in price_history(model):
        click.echo(f"v{row.version} price_id={row.id} {row.created_at:%Y-%m-%d %H:%M} "
                   f"input={row.input_per_mtok_credits} output={row.output_per_mtok_credits} "
                   f"cached_input={_rate(row.cached_input_per_mtok_credits)} "
                   f"cache_write={_rate(row.cache_write_per_mtok_credits)} "
                   f"per_second={row.per_second_credits} "
                   f"per_second_audio={_rate(row.per_second_audio_credits, '=per_second')} "
                   f"reason={row.reason!r}")
