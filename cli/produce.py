"""`moodwatch produce`: its options, handed to `producer` (the work is done there)."""

from typing import Annotated

import typer


def produce(
    source: Annotated[
        str, typer.Argument(help="a .jsonl/.csv/.tsv/.txt file (other names: --format), or -")
    ],
    rate: Annotated[float, typer.Option(help="posts per second; 0 = as fast as possible")] = 0.0,
    limit: Annotated[int, typer.Option(help="stop after this many posts; 0 = all")] = 0,
    input_format: Annotated[
        str,
        typer.Option(
            "--format",
            help="auto (by suffix; a .txt whose lines all end in ;<emotion> is Kaggle "
            "text;label, else one post per line; stdin: JSON objects and plain lines), "
            "jsonl, csv, tsv, text or kaggle",
        ),
    ] = "auto",
    text_column: Annotated[str, typer.Option(help="CSV/JSONL field holding the text")] = "text",
    id_column: Annotated[
        str | None,
        typer.Option(
            help="field holding the post id (default: id where a row has one; else an id is "
            "made from the row's content, so a replay stores nothing twice)",
            show_default=False,
        ),
    ] = None,
    author_column: Annotated[
        str | None, typer.Option(help="field for author (default: author)")
    ] = None,
    time_column: Annotated[
        str | None, typer.Option(help="field for created_at, RFC 3339 (default: created_at)")
    ] = None,
    source_column: Annotated[
        str | None, typer.Option(help="field for source (default: source)")
    ] = None,
    lang_column: Annotated[str | None, typer.Option(help="field for lang (default: lang)")] = None,
    source_name: Annotated[
        str, typer.Option("--source-name", help="`source` of rows without one")
    ] = "replay",
    warp_days: Annotated[
        float, typer.Option(help="spread created_at evenly over the past N days (time-warp)")
    ] = 0.0,
    id_prefix: Annotated[str, typer.Option(help="a namespace before generated ids")] = "",
    skip_bad_rows: Annotated[
        bool, typer.Option(help="skip, report and count bad rows instead of stopping")
    ] = False,
) -> None:
    """Feed posts into the posts topic, with a progress bar."""
    from producer.send import ProduceError, ProduceOptions, produce_file
    from schemas.settings import ProducerSettings

    try:
        options = ProduceOptions(
            source=source,
            rate=rate,
            limit=limit,
            format=input_format,
            text_column=text_column,
            id_column=id_column,
            author_column=author_column,
            time_column=time_column,
            source_column=source_column,
            lang_column=lang_column,
            source_name=source_name,
            warp_days=warp_days,
            id_prefix=id_prefix,
            skip_bad_rows=skip_bad_rows,
        )
        result = produce_file(ProducerSettings(), options)
    except ProduceError as error:
        for line in error.lines():
            typer.echo(line, err=True)
        raise typer.Exit(error.exit_code) from None
    skipped = f" ({result.skipped} bad rows skipped)" if result.skipped else ""
    typer.echo(f"produced {result.sent} posts{skipped}")
