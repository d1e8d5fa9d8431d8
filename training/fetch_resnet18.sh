#!/bin/sh
# Fetches the ImageNet ResNet-18 (ResNet18.onnx) from the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18
# 0.23.1 by restoring a throwaway project, and prints its path. Needs the .NET SDK and access to nuget.org.
set -eu
tmp=$(mktemp -d)
cat > "$tmp/fetch.csproj" <<'XML'
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net8.0</TargetFramework></PropertyGroup>
  <ItemGroup><PackageDownload Include="Microsoft.ML.DnnImageFeaturizer.ResNet18" Version="[0.23.1]" /></ItemGroup>
</Project>
XML
dotnet restore "$tmp/fetch.csproj" >/dev/null
rm -rf "$tmp"
root="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
find "$root/microsoft.ml.dnnimagefeaturizer.resnet18/0.23.1" -name ResNet18.onnx
