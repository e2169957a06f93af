# Build Hearth's Windows installer and portable .zip from this checkout.
#
# NOT RUN in Hearth's own build environment (Linux): the "windows" job of
# .github/workflows/installers.yml runs it on a Windows runner. By hand, on Windows 10/11 x64 with
# Python 3.11, Visual Studio Build Tools (C++), CMake and Inno Setup 6 (iscc on PATH):
#
#   py -3.11 -m venv .venv
#   .venv\Scripts\python -m pip install -e ".[packaging]"
#   powershell -ExecutionPolicy Bypass -File packaging\windows\build_windows.ps1
#
# Output: dist\Hearth-<version>-windows-x64-setup.exe and dist\Hearth-<version>-windows-x64.zip
param(
    [string]$Python = ".venv\Scripts\python.exe"
)
$ErrorActionPreference = "Stop"
$Root = Resolve-Path (Join-Path $PSScriptRoot "..\..")
Set-Location $Root
$env:HF_HUB_OFFLINE = "1"

$Version = & $Python -c "import tomllib; print(tomllib.load(open('pyproject.toml', 'rb'))['project']['version'])"
$Work = "build\packaging\pyinstaller"
$Bundle = "$Work\dist\hearth"
New-Item -ItemType Directory -Force -Path dist | Out-Null

$started = Get-Date
& $Python -m PyInstaller --noconfirm --clean --log-level WARN --distpath "$Work\dist" --workpath "$Work\work" packaging\hearth.spec
if ($LASTEXITCODE) { throw "PyInstaller failed" }

# The console twin prints the self-test line; the windowed Hearth.exe has no console.
& "$Bundle\hearth-cli.exe" --self-test
if ($LASTEXITCODE) { throw "the bundled app's self-test failed" }

& iscc "/DAppVersion=$Version" packaging\windows\hearth.iss
if ($LASTEXITCODE) { throw "Inno Setup failed" }

$Zip = "dist\Hearth-$Version-windows-x64.zip"
if (Test-Path $Zip) { Remove-Item $Zip }
Compress-Archive -Path $Bundle -DestinationPath $Zip -CompressionLevel Optimal

$size = "{0:N0} MiB" -f ((Get-ChildItem $Bundle -Recurse | Measure-Object Length -Sum).Sum / 1MB)
Write-Host "bundle (unpacked): $size"
Get-ChildItem dist\Hearth-$Version-windows-* | ForEach-Object { "{0}: {1:N0} MiB" -f $_.Name, ($_.Length / 1MB) }
Write-Host ("total time: {0:N0} s" -f ((Get-Date) - $started).TotalSeconds)
