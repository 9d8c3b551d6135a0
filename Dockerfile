# A small image of sei-watch: `docker build -t sei-watch .` (not built in CI; see docs/kubernetes.md).
# In a job: docker run --rm -v "$PWD:/ws" -e SEI_URL -e SEI_API_KEY -e SEI_WATCH_SEI_INSTANCE_GUID \
#   sei-watch parse /ws --post --soft-fail
# The fleet relay or an agent that publishes to NATS: docker build --build-arg EXTRAS='[nats]' .
FROM python:3.12-slim
ARG EXTRAS=""
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/sei-watch sei-watch
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY sei_watch ./sei_watch
COPY parsers ./parsers
COPY systemd ./systemd
RUN pip install --no-cache-dir ".${EXTRAS}" && rm -rf /src
USER 10001
WORKDIR /home/sei-watch
ENV PYTHONUNBUFFERED=1 SEI_WATCH_STATE_DIR=/home/sei-watch/state
ENTRYPOINT ["sei-watch"]
CMD ["--help"]
